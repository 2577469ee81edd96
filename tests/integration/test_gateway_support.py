"""A check of the ql-gateway tests' own documents (qltest.gateway).

The documents gateway.make_doc() builds must be valid datums of the newest
record schema (checked by Python's avro writer), and survive an
encode/decode round trip as gateway.expected_datum() predicts, independently
of our C code: the other test_gateway_*.py tests rely on both.
"""
import datetime

import avro.io

from qltest import codec, gateway as gs
from qltest.report import check, ok


def main():
    schema = codec.newest_schema()
    for i, (nc, code) in enumerate([(True, gs.CODES[0]), (False, gs.CODES[4])]):
        doc = gs.make_doc("LAB%d" % i, "R-%d" % i, code=code, nonconforming=nc)
        datum = gs.expected_datum(doc)
        check(avro.io.validate(schema, datum),
              "make_doc() builds an invalid record: %r" % datum)
        back = codec.decode_single_object(codec.encode_single_object(datum, schema))
        check(back == datum, "round trip changed the record:\n%r\n%r" % (datum, back))
        check(back["reported_at"].astimezone(datetime.timezone.utc).hour == 1,
              "reported_at not converted to UTC: %r" % back["reported_at"])
    ok("gateway test documents match the schema")


if __name__ == "__main__":
    main()

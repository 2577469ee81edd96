"""Avro as the specification defines it, with Python's own `avro` library
and a CRC-64-AVRO computed here: records encoded and decoded independently
of our C codec (common/ql_codec*), in single-object framing (0xC3 0x01,
the writer schema's fingerprint, the body)."""
import glob
import io
import json
import os
import re
import struct

import avro.io
import avro.schema

from qltest import SCHEMA_DIR

_EMPTY = 0xC15D213AA4D7A795
_TABLE = []
for _i in range(256):
    _fp = _i
    for _ in range(8):
        _fp = (_fp >> 1) ^ (_EMPTY & -(_fp & 1))
    _TABLE.append(_fp)


def crc64_avro(data: bytes) -> int:
    """CRC-64-AVRO as the Avro specification defines it (unsigned)."""
    fp = _EMPTY
    for b in data:
        fp = (fp >> 8) ^ _TABLE[(fp ^ b) & 0xFF]
    return fp


def _version_key(path):
    """Numbers inside names compare as numbers: v10 sorts after v9."""
    return [int(p) if p.isdigit() else p
            for p in re.split(r"(\d+)", os.path.basename(path))]


def schema_files():
    """Every schema file, oldest first (the codec's version order)."""
    return sorted(glob.glob(os.path.join(SCHEMA_DIR, "*.avsc")),
                  key=_version_key)


def load_schema(path):
    with open(path, encoding="utf-8") as f:
        return avro.schema.parse(f.read())


_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes",
               "string"}


def canonical_form(schema) -> str:
    """Parsing Canonical Form as the Avro specification defines it.  Python
    avro 1.11 keeps {"type": "int"} for a primitive that carries attributes
    such as logicalType; the specification's PRIMITIVES rule (and Java's
    SchemaNormalization) reduce it to "int", and the fingerprint with it."""
    def fix(j):
        if isinstance(j, dict):
            if len(j) == 1 and j.get("type") in _PRIMITIVES:
                return j["type"]
            return {k: fix(v) for k, v in j.items()}
        if isinstance(j, list):
            return [fix(v) for v in j]
        return j
    return json.dumps(fix(schema.to_canonical_json()), separators=(",", ":"))


def fingerprint(schema) -> int:
    return crc64_avro(canonical_form(schema).encode("utf-8"))


def schemas_by_fingerprint():
    return {fingerprint(s): s for s in map(load_schema, schema_files())}


def newest_schema():
    return load_schema(schema_files()[-1])


def schema_version(n):
    """The published schema of version n (inspection_result.vN.avsc), for
    writing records as an older producer did."""
    return load_schema(os.path.join(SCHEMA_DIR,
                                    "inspection_result.v%d.avsc" % n))


def decode_single_object(msg: bytes, known=None):
    """Decode single-object Avro with Python's avro, resolved to the newest
    schema; returns a dict."""
    known = known or schemas_by_fingerprint()
    if len(msg) < 10 or msg[0:2] != b"\xc3\x01":
        raise ValueError("not single-object encoding")
    (fp,) = struct.unpack("<Q", msg[2:10])
    writer = known[fp]
    reader = avro.io.DatumReader(writer, newest_schema())
    return reader.read(avro.io.BinaryDecoder(io.BytesIO(msg[10:])))


def encode_single_object(datum, schema=None, version=None) -> bytes:
    """Encode a datum (Python avro types) with single-object framing, with
    the given schema, or the published schema of `version`, or else the
    newest."""
    if schema is None and version is not None:
        schema = schema_version(version)
    schema = schema or newest_schema()
    buf = io.BytesIO()
    avro.io.DatumWriter(schema).write(datum, avro.io.BinaryEncoder(buf))
    return b"\xc3\x01" + struct.pack("<Q", fingerprint(schema)) + buf.getvalue()

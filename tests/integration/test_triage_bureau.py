"""The bureau's region (QL_BUREAU_REGION) recorded by ql-triage at start and
used by the case derivation (schemas/sql/015_case_work.sql): a seller's
nonconforming product made outside the region gets NOTIFY_PRODUCER_BUREAU
(SAMR Order No. 18, Art. 44 para. 2), one made inside does not; a value that
is no GB/T 2260 prefix stops ql-triage with one line naming the setting.
"""

from qltest import broker, pg, triage as T
from qltest.report import fail, ok


def seller(i, maker_region):
    d = T.make_doc(i, code=T.credit_code(2 + 6 * i), verdict="NONCONFORMING")
    d["enterprise"]["role"] = "SELLER"
    d["manufacturer"] = {"credit_code": None, "name": "某制造有限公司",
                         "region_code": maker_region, "address": None}
    return d


def main():
    with T.Env("ql_test_triage_bureau") as env:
        bad = env.triage("--bureau-region", "35-02", name="bad")
        if bad.wait(30) == 0 or "bureau_region" not in bad.text():
            fail("a bad bureau region was not refused by name:\n" + bad.text())

        outside, inside = seller(1, "350500"), seller(2, "350211")
        broker.produce(env.brokers, [(d["enterprise"]["credit_code"].encode(), T.encode(d))
                                     for d in (outside, inside)])
        env.extra["QL_BUREAU_REGION"] = "3502"
        t = env.triage("--idle-exit", "2", name="first")
        if t.wait(90) != 0:
            fail("ql-triage exited %s:\n%s" % (t.proc.returncode, t.text()))
        if "bureau region 3502 recorded" not in t.text():
            fail("the start does not say the region was recorded:\n" + t.text())
        if pg.sql("SELECT region_prefix FROM ql.bureau") != ["3502"]:
            fail("ql.bureau holds %s" % pg.sql("SELECT region_prefix FROM ql.bureau"))

        def notify(d):
            return pg.sql("SELECT count(*) FROM ql.plan_action WHERE action = "
                          "'NOTIFY_PRODUCER_BUREAU' AND original_result_id = '%s'"
                          % d["result_id"])
        if notify(outside) != ["1"]:
            fail("a product made in 泉州 (350500) sold in Xiamen: no notice planned")
        if notify(inside) != ["0"]:
            fail("a product made in 集美 (350211) by a Xiamen bureau: notice planned")

        # A district bureau (湖里): the 集美 product is from outside now; the
        # change re-derives the plans already stored.
        env.extra["QL_BUREAU_REGION"] = "350206"
        t = env.triage("--idle-exit", "2", name="second")
        if t.wait(90) != 0:
            fail("ql-triage exited %s:\n%s" % (t.proc.returncode, t.text()))
        if notify(inside) != ["1"]:
            fail("the region narrowed to 350206: the 集美 product has no notice")
        t = env.triage("--idle-exit", "2", name="third")
        if t.wait(90) != 0 or "bureau region 350206 (as recorded)" not in t.text():
            fail("an unchanged region is not reported as such:\n" + t.text())
    ok("the bureau's region decides Art. 44's notices")


if __name__ == "__main__":
    main()

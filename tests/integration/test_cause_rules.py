"""The cause rules (ql.cause_rule, ql.classify_item) against every item of
ql-simlab's catalogue: a fresh database with the migrations (ql-triage
--migrate-only), `ql-simlab --catalogue`, and for each item
`SELECT ql.classify_item(name)` compared with the category a product-quality
inspector gives it (EXPECTED below).

The test fails, listing every (item, expected, got), when the rules place an
item elsewhere, and when the catalogue has an item EXPECTED lacks: a new
catalogue item needs its category decided here, and the rules taught it if
they do not know it.  OTHER is expected only where no category fits.
"""
import os
import subprocess
import json

import qltest
from qltest import pg
from qltest.report import fail, ok


LABELING = "LABELING"
HAZARD = "HAZARDOUS_SUBSTANCE"
ELECTRICAL = "ELECTRICAL_SAFETY"
FIRE = "FIRE_SAFETY"
MECHANICAL = "MECHANICAL_SAFETY"
PERFORMANCE = "PERFORMANCE"

# The category of each item name, whatever product it is tested on.
EXPECTED = {
    # Marking, labels, instructions (GB 5296 and each product standard's
    # marking clause).
    "标识和使用说明": LABELING,
    "标志": LABELING,
    "标志和说明": LABELING,
    "使用说明": LABELING,
    "标签标识": LABELING,
    "标识": LABELING,
    # Chemical limits: plasticisers, heavy metals, formaldehyde, banned
    # dyes, solvents, pH and odour of textiles (GB 18401), the migration and
    # decolouring tests of food-contact plastics (GB 4806.7: what passes
    # from the material into food), carbon monoxide in flue gas (GB 16410:
    # a poison, not a performance figure).  The sensory test of food-contact
    # plastics (GB 4806.7 4.2: no off-odour, no foreign matter) is a food
    # safety requirement whose failure means residues in the material, like
    # the odour of a textile: a substance, not a performance.
    "邻苯二甲酸酯增塑剂": HAZARD,
    "邻苯二甲酸酯": HAZARD,
    "可迁移元素(铅)": HAZARD,
    "可溶性重金属(铅)": HAZARD,
    "重金属(以Pb计)": HAZARD,
    "甲醛含量": HAZARD,
    "甲醛释放量": HAZARD,
    "pH值": HAZARD,
    "可分解致癌芳香胺染料": HAZARD,
    "异味": HAZARD,
    "苯": HAZARD,
    "VOC含量": HAZARD,
    "苯系物总和含量": HAZARD,
    "总迁移量": HAZARD,
    "高锰酸钾消耗量": HAZARD,
    "脱色试验": HAZARD,
    "感官": HAZARD,
    "烟气中CO含量": HAZARD,
    # Electrical safety (GB 4706.1, GB/T 5023): shock protection, leakage,
    # dielectric strength, earthing, heating, and the insulation that
    # carries the voltage (its thickness: GB/T 5023 A items, the cause of
    # breakdown and shock).
    "泄漏电流": ELECTRICAL,
    "电气强度": ELECTRICAL,
    "接地措施": ELECTRICAL,
    "对触及带电部件的防护": ELECTRICAL,
    "温升": ELECTRICAL,
    "电压试验": ELECTRICAL,
    "绝缘厚度": ELECTRICAL,
    "绝缘最薄处厚度": ELECTRICAL,
    # Fire: flame retardancy, and the gas appliance's protection against
    # leaking or unburnt gas (GB 16410: tightness, flame-failure device).
    "阻燃性能": FIRE,
    "气密性": FIRE,
    "熄火保护装置": FIRE,
    # Mechanical and structural hazards: small parts, sharp edges and
    # points, tipping, braking, the e-bike's speed limit and its tamper
    # protection (GB 17761 safety requirements against speed), and the
    # furniture's hardware fixing (GB/T 3324 6.3: a door or hinge that
    # comes loose).
    "小零件": MECHANICAL,
    "锐利边缘": MECHANICAL,
    "锐利尖端": MECHANICAL,
    "稳定性": MECHANICAL,
    "制动性能": MECHANICAL,
    "最高设计车速": MECHANICAL,
    "防篡改": MECHANICAL,
    "五金件": MECHANICAL,
    # Performance and quality indicators: what the product promises rather
    # than a hazard -- including the insulation's tensile strength (a
    # material property) and the gas cooker's combustion noise (a comfort
    # figure, despite 燃烧 in its name).
    "导体电阻": PERFORMANCE,
    "绝缘老化前抗张强度": PERFORMANCE,
    "输入功率和电流": PERFORMANCE,
    "纤维含量": PERFORMANCE,
    "耐水色牢度(变色)": PERFORMANCE,
    "漆膜附着力": PERFORMANCE,
    "整车质量": PERFORMANCE,
    "脚踏行驶能力": PERFORMANCE,
    "对比率(白色和浅色)": PERFORMANCE,
    "热效率": PERFORMANCE,
    "燃烧噪声": PERFORMANCE,
}


def main():
    r = subprocess.run([os.path.join(qltest.QL_BIN, "ql-simlab"), "--catalogue"],
                       capture_output=True, text=True, check=True)
    catalogue = [json.loads(line) for line in r.stdout.splitlines()]
    if len(catalogue) < 50:
        fail("ql-simlab --catalogue printed %d items" % len(catalogue))

    pg.new_db("ql_test_cause_rules")
    env = dict(os.environ, QL_SQL_DIR=os.path.join(qltest.QL_SRC, "schemas/sql"))
    m = subprocess.run([os.path.join(qltest.QL_BIN, "ql-triage"), "--migrate-only"],
                       env=env, capture_output=True, text=True, timeout=300)
    if m.returncode:
        fail("ql-triage --migrate-only: %s%s" % (m.stdout, m.stderr))

    names = sorted({c["item"] for c in catalogue})
    # One query, the names as data: a JSON array unnested in SQL.
    arr = json.dumps(names, ensure_ascii=False).replace("'", "''")
    got = dict(row.split("|", 1) for row in pg.sql(
        "SELECT n, ql.classify_item(n) FROM jsonb_array_elements_text('%s'::jsonb) AS t(n)"
        % arr))
    missing = [(c["category"], c["item"]) for c in catalogue if c["item"] not in EXPECTED]
    wrong = [(n, EXPECTED[n], got[n]) for n in names
             if n in EXPECTED and got[n] != EXPECTED[n]]
    other = sum(got[n] == "OTHER" for n in names)
    print("%d catalogue lines, %d distinct items; %d classified as expected, "
          "%d differ (%d of them OTHER), %d not in the table"
          % (len(catalogue), len(names), len(names) - len(wrong) - len(missing),
             len(wrong), sum(g == "OTHER" for _, _, g in wrong), len(missing)))
    for n, want, have in wrong:
        print("  %s: expected %s, got %s" % (n, want, have))
    for cat, n in missing:
        print("  %s (%s): not in EXPECTED; the rules say %s" % (n, cat, got.get(n)))
    if wrong or missing:
        fail("%d items classified otherwise than expected, %d not in the table"
             % (len(wrong), len(missing)))
    ok("every catalogue item in its category (%d OTHER)" % other)


if __name__ == "__main__":
    main()

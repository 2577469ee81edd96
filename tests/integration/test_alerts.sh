# The alerts that ship with the deployment (deploy/prometheus/alerts.yml):
# valid rules, loaded by the compose Prometheus's configuration (whose
# rule_files resolve beside it), and each alert unit-tested with promtool
# (deploy/prometheus/alerts_test.yml): it fires on a series that should fire
# it and stays quiet on one that should not.  promtool is Debian's
# `prometheus` package (deploy/setup installs it).
. "$QL_SRC/tests/lib/common.sh"

command -v promtool >/dev/null || ql_fail "promtool missing (deploy/setup installs prometheus)"
dir=$QL_SRC/deploy/prometheus
promtool check rules "$dir/alerts.yml" >"$QL_TMP/rules.log" 2>&1 ||
        ql_fail "promtool check rules: $(cat "$QL_TMP/rules.log")"
promtool check config "$QL_SRC/deploy/prometheus.yml" >"$QL_TMP/config.log" 2>&1 ||
        ql_fail "promtool check config: $(cat "$QL_TMP/config.log")"
grep -q "alerts.yml" "$QL_TMP/config.log" || ql_fail "prometheus.yml does not load alerts.yml: $(cat "$QL_TMP/config.log")"
(cd "$dir" && promtool test rules alerts_test.yml) >"$QL_TMP/test.log" 2>&1 ||
        ql_fail "promtool test rules: $(cat "$QL_TMP/test.log")"

# Every alert is tested both ways; the ones the brief of the deployment
# names are there.
$PY - "$dir/alerts.yml" "$dir/alerts_test.yml" <<'PY'
import sys, yaml
rules = [r for g in yaml.safe_load(open(sys.argv[1]))["groups"] for r in g["rules"]]
names = {r["alert"] for r in rules if "alert" in r}
fires, quiet = set(), set()
for t in yaml.safe_load(open(sys.argv[2]))["tests"]:
    for a in t.get("alert_rule_test", []):
        (fires if a.get("exp_alerts") else quiet).add(a["alertname"])
for n in sorted(names):
    if n not in fires or n not in quiet:
        print("FAIL: alert %s is not tested both firing and quiet" % n)
        sys.exit(1)
exprs = " ".join(r["expr"] for r in rules)
for m in ["ql_triage_lag", "ql_triage_rejected_total", "ql_triage_dlq_failures_total",
          "ql_triage_expired_records_total", "ql_triage_derivation_failures_total",
          'ql_gateway_requests_total{status=~"5.."}', "up{"]:
    if m not in exprs:
        print("FAIL: no alert on %s" % m)
        sys.exit(1)
print("alerts ok:", ", ".join(sorted(names)))
PY

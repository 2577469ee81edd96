# shellcheck shell=bash
# ql-devbroker seen from outside with kcat, an independent Kafka client: the
# bootstrap line, the topics it creates, a keyed produce/consume round trip,
# the fault-control commands (answers, and their effect on real clients), the
# Unix control socket, and staying up after stdin closes until SIGTERM.
. "$QL_SRC/tests/lib/common.sh"

# metadata BROKERS: kcat's metadata as JSON (one broker is enough to ask).
metadata() {
        kcat -L -J -m 5 -b "$1" 2>/dev/null
}

# topic_shape JSON TOPIC: "PARTITIONS REPLICAS..." of TOPIC, e.g. "6 3 3 3..."
topic_shape() {
        $PY -c '
import json, sys
md = json.loads(sys.argv[1])
t = [t for t in md["topics"] if t["topic"] == sys.argv[2]]
if not t:
    print("missing")
else:
    ps = t[0]["partitions"]
    print(len(ps), *[len(p["replicas"]) for p in ps])' "$1" "$2"
}

# leader_of JSON TOPIC PARTITION
leader_of() {
        $PY -c '
import json, sys
md = json.loads(sys.argv[1])
t = [t for t in md["topics"] if t["topic"] == sys.argv[2]][0]
print([p["leader"] for p in t["partitions"]
       if p["partition"] == int(sys.argv[3])][0])' "$1" "$2" "$3"
}

# leaders_of JSON TOPIC: the partitions' leaders, in partition order
leaders_of() {
        $PY -c '
import json, sys
md = json.loads(sys.argv[1])
t = [t for t in md["topics"] if t["topic"] == sys.argv[2]][0]
print(*[p["leader"] for p in sorted(t["partitions"], key=lambda p: p["partition"])])' "$1" "$2"
}

# --- bootstrap line and topics, for several cluster sizes -------------------
for n in 1 2 4; do
        ql_devbroker_start --brokers "$n" --partitions 3 --topic extra.topic
        [[ $QL_BROKERS =~ ^127\.0\.0\.1:[0-9]+(,127\.0\.0\.1:[0-9]+)*$ ]] ||
                ql_fail "bootstrap line '$QL_BROKERS' is not 127.0.0.1:PORT,..."
        ql_assert_eq "$n" "$(tr , '\n' <<<"$QL_BROKERS" | wc -l)" \
                "bootstrap entries for --brokers $n"
        ql_assert_eq "$n" "$(tr , '\n' <<<"$QL_BROKERS" | sort -u | wc -l)" \
                "distinct ports for --brokers $n"
        md=$(metadata "$QL_BROKERS") || ql_fail "kcat -L failed"
        ql_assert_eq "$n" "$($PY -c 'import json,sys
print(len(json.loads(sys.argv[1])["brokers"]))' "$md")" "brokers in metadata"
        rf=$((n < 3 ? n : 3))
        want="3$(printf " $rf%.0s" 1 2 3)"
        for t in inspection.results inspection.results.dlq extra.topic; do
                ql_assert_eq "$want" "$(topic_shape "$md" "$t")" \
                        "partitions and replicas of $t with $n brokers"
                # Leaders round-robin over the brokers, as Kafka places them.
                ql_assert_eq "$(for p in 0 1 2; do printf '%d ' $((p % n + 1)); done | sed 's/ $//')" \
                        "$(leaders_of "$md" "$t")" "leaders of $t with $n brokers"
        done
        kill -TERM "$DEVBROKER_PID"
        rc=0
        wait "$DEVBROKER_PID" || rc=$?
        ql_assert_eq 0 "$rc" "exit status after SIGTERM"
done

# --- defaults: 3 brokers, 6 partitions --------------------------------------
ql_devbroker_start
md=$(metadata "$QL_BROKERS") || ql_fail "kcat -L failed"
ql_assert_eq "6 3 3 3 3 3 3" "$(topic_shape "$md" inspection.results)" \
        "default inspection.results"
ql_assert_eq "6 3 3 3 3 3 3" "$(topic_shape "$md" inspection.results.dlq)" \
        "default inspection.results.dlq"

# --- keyed round trip through an idempotent kcat producer -------------------
n=300
for i in $(seq 1 "$n"); do
        printf 'enterprise-%03d\tresult %d 清零 {"n": %d}\n' \
                $((i % 37)) "$i" "$i"
done >"$QL_TMP/sent"
kcat -P -b "$QL_BROKERS" -t inspection.results -K $'\t' \
        -X enable.idempotence=true <"$QL_TMP/sent" ||
        ql_fail "kcat -P failed"
kcat -C -b "$QL_BROKERS" -t inspection.results -o beginning -e -q \
        -f '%k\t%s\t%p\n' >"$QL_TMP/received" || ql_fail "kcat -C failed"
ql_assert_eq "$n" "$(wc -l <"$QL_TMP/received")" "messages consumed"
diff <(sort "$QL_TMP/sent") <(cut -f1,2 "$QL_TMP/received" | sort) ||
        ql_fail "consumed messages differ from the produced ones"
# One key, one partition: the key-to-partition mapping the pipeline relies on.
ql_assert_eq 37 "$(cut -f1,3 "$QL_TMP/received" | sort -u | wc -l)" \
        "key/partition pairs (each key on one partition)"
[ "$(cut -f3 "$QL_TMP/received" | sort -u | wc -l)" -gt 1 ] ||
        ql_fail "all keys landed on one partition"

# --- control commands: answers ----------------------------------------------
ql_devbroker_cmd "clear Produce"
for bad in "broker down 9" "broker down x" "error Produce NO_SUCH_ERROR" \
        "error NoSuchApi REQUEST_TIMED_OUT" "error Produce REQUEST_TIMED_OUT 0" \
        "leader inspection.results 0 4" "coordinator cluster g 1" \
        "topic create t 0 1" "topic create t 1 4" "frobnicate" "broker" \
        "broker sideways 1" "help me"; do
        if ql_devbroker_try "$bad"; then
                ql_fail "'$bad' was accepted"
        fi
        [[ $DEVBROKER_REPLY == "error: "?* ]] ||
                ql_fail "'$bad' answered '$DEVBROKER_REPLY'"
done
ql_devbroker_try "topic create inspection.results 2 1" &&
        ql_fail "re-creating a topic was accepted"
# Comments and blank lines get no answer: after them, one command gives
# exactly one more answer line.
before=$(grep -cE '^(ok$|error: )' "$DEVBROKER_OUT")
ql_devbroker_cmd "# a comment"
ql_devbroker_cmd ""
ql_devbroker_cmd "   # indented comment"
ql_devbroker_cmd "error Fetch REQUEST_TIMED_OUT 2"
ql_devbroker_cmd "clear Fetch"
ql_assert_eq $((before + 2)) "$(grep -cE '^(ok$|error: )' "$DEVBROKER_OUT")" \
        "answers after two comments, a blank line and two commands"
ql_devbroker_cmd "help"
"$QL_BIN/ql-devbroker" --help >"$QL_TMP/help"
for c in "broker down ID" "broker up ID" "broker rtt ID MS" \
        "broker error ID API CODE RTT_MS" "error API CODE [COUNT]" \
        "clear API" "leader TOPIC PARTITION ID" \
        "coordinator group|transaction KEY ID" \
        "topic create NAME PARTITIONS RF"; do
        grep -qxF "# $c" "$DEVBROKER_OUT" || ql_fail "help lacks '$c'"
        grep -qxF "  $c" "$QL_TMP/help" || ql_fail "--help lacks '$c'"
done
ql_devbroker_cmd "broker error 2 Produce NO_ERROR 10"
ql_devbroker_cmd "coordinator group some-group 2"
ql_devbroker_cmd "coordinator transaction some-txn 3"

# --- control commands: effects seen by a client -----------------------------
ql_devbroker_cmd "topic create made.later 4 2"
ql_devbroker_cmd "leader inspection.results 0 3"
md=$(metadata "$QL_BROKERS")
# (librdkafka 2.0.2's mock gives every partition min(3, brokers) replicas,
# whatever RF says, so only the partition count is checked.)
ql_assert_eq 4 "$(topic_shape "$md" made.later | cut -d' ' -f1)" \
        "partitions of a topic created by command"
ql_assert_eq "1 2 3 1" "$(leaders_of "$md" made.later)" \
        "leaders of a topic created by command"
ql_assert_eq 3 "$(leader_of "$md" inspection.results 0)" "leader after move"
ql_devbroker_cmd "leader inspection.results 0 1"
ql_assert_eq 1 "$(leader_of "$(metadata "$QL_BROKERS")" inspection.results 0)" \
        "leader after second move"

b2=$(cut -d, -f2 <<<"$QL_BROKERS")
ql_devbroker_cmd "broker down 2"
kcat -L -m 2 -b "$b2" >/dev/null 2>&1 && ql_fail "broker 2 answered while down"
ql_devbroker_cmd "broker up 2"
ql_wait_for 10 metadata "$b2" >/dev/null || ql_fail "broker 2 not back up"

ql_devbroker_cmd "broker rtt 2 700"
t0=$(date +%s%N)
metadata "$b2" >/dev/null || ql_fail "metadata from a slow broker failed"
slow_ms=$((($(date +%s%N) - t0) / 1000000))
[ "$slow_ms" -ge 700 ] || ql_fail "broker rtt 700 ms: metadata took $slow_ms ms"
ql_devbroker_cmd "broker rtt 2 0"

# Pushed request errors reach the client: with every ApiVersions request
# dropping the connection kcat cannot get anywhere, and after clear it can.
# (librdkafka 2.0.2's mock ignores errors pushed for Metadata.)
ql_devbroker_cmd "error ApiVersions _TRANSPORT 1000"
kcat -L -m 2 -b "$b2" >/dev/null 2>&1 &&
        ql_fail "metadata succeeded with transport errors pushed"
ql_devbroker_cmd "clear ApiVersions"
metadata "$b2" >/dev/null || ql_fail "metadata still failing after clear"

# --- control socket ----------------------------------------------------------
sock="$QL_TMP/ctl.sock"
ql_devbroker_start --brokers 2 --control "$sock"
[ -S "$sock" ] || ql_fail "no control socket at $sock"
answers=$($PY -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"broker rtt 1 0\n# comment\nbroker down 3\nbroker up 1\n")
f = s.makefile()
print(" | ".join(f.readline().strip() for _ in range(3)))' "$sock")
[[ $answers == "ok | error: "*" | ok" ]] ||
        ql_fail "control socket answers: '$answers'"
grep -qE '^(ok$|error: )' "$DEVBROKER_OUT" &&
        ql_fail "socket commands were answered on stdout"
# 16 connections at once are served; the 17th is told why it is closed.
answers=$($PY -c '
import socket, sys
conns = []
for _ in range(17):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    conns.append(s.makefile("rw"))
    if len(conns) == 17:
        print(conns[-1].readline().strip())
for f in conns[:16]:
    f.write("broker rtt 1 0\n")
    f.flush()
print(sum(f.readline().strip() == "ok" for f in conns[:16]))' "$sock")
ql_assert_eq "error: too many control connections
16" "$answers" "answers with 17 control connections"

# --- stdin closed: keeps serving; SIGTERM: exit 0 and socket removed --------
exec {DEVBROKER_FD}>&-
sleep 0.5
kill -0 "$DEVBROKER_PID" 2>/dev/null || ql_fail "exited when stdin closed"
metadata "$QL_BROKERS" >/dev/null || ql_fail "not serving after stdin closed"
kill -TERM "$DEVBROKER_PID"
rc=0
wait "$DEVBROKER_PID" || rc=$?
ql_assert_eq 0 "$rc" "exit status after SIGTERM"
[ -e "$sock" ] && ql_fail "control socket left behind"
grep -q "stdin closed" "$DEVBROKER_ERR" || ql_fail "no log line for stdin EOF"

# --- bad options -------------------------------------------------------------
for bad in "--brokers 0" "--brokers 33" "--partitions 0" "--bogus" "extra"; do
        rc=0
        # shellcheck disable=SC2086
        "$QL_BIN/ql-devbroker" $bad </dev/null >/dev/null 2>&1 || rc=$?
        ql_assert_eq 2 "$rc" "exit status for '$bad'"
done
echo "ok: test_devbroker"

#!/usr/bin/env python3
"""Tiny Flink SQL Gateway REST client (stdlib only). Usage: sqlgw.py FILE.sql [gateway_url]
Opens a session, runs each ';'-terminated statement in order, prints the results, closes nothing
(INSERT jobs keep running in the session cluster after the session is closed)."""
import json, sys, time, urllib.request

GW = sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:18084"

def call(method, path, body=None):
    req = urllib.request.Request(GW + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        raise SystemExit(f"HTTP {e.code} {method} {path}: {e.read().decode()[:4000]}")

def run(session, stmt):
    op = call("POST", f"/v1/sessions/{session}/statements", {"statement": stmt})["operationHandle"]
    uri = f"/v1/sessions/{session}/operations/{op}/result/0?rowFormat=JSON"
    rows, cols = [], None
    while uri:
        res = call("GET", uri)
        if res.get("resultType") == "NOT_READY":
            time.sleep(0.3)
        else:
            r = res.get("results", {})
            cols = cols or [c["name"] for c in r.get("columns", [])]
            rows += [row["fields"] for row in r.get("data", [])]
            if res.get("resultType") == "EOS":
                break
        uri = res.get("nextResultUri")
        if len(rows) > 50:   # don't follow an unbounded SELECT forever
            break
    return op, cols, rows, res.get("jobID")

def main():
    text = "\n".join(l for l in open(sys.argv[1]).read().splitlines() if not l.strip().startswith("--"))
    stmts = [s.strip() for s in text.split(";\n") if s.strip() and not all(l.strip().startswith("--") or not l.strip() for l in s.splitlines())]
    props = {"execution.runtime-mode": "streaming"}
    session = call("POST", "/v1/sessions", {"sessionName": "jvmstack", "properties": props})["sessionHandle"]
    print("session", session)
    for s in stmts:
        s = s.rstrip(";")
        t0 = time.time()
        op, cols, rows, job = run(session, s)
        print(f"-- {s.splitlines()[0][:90]} ...  ({time.time()-t0:.2f}s){' jobID='+job if job else ''}")
        if cols: print("   ", cols)
        for r in rows[:20]: print("   ", r)

if __name__ == "__main__":
    main()

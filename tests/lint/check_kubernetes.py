#!/usr/bin/env python3
"""The Kubernetes manifests (deploy/kubernetes/) against what the docs and
the product rely on (tests/lint/test_kubernetes.sh runs it).

  check_kubernetes.py COAPGW_BINARY

Prints one "ok   - ..." or "FAIL - ..." line per check; exit 1 on a failure.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DIR = os.path.join(ROOT, "deploy", "kubernetes")
COAPGW = sys.argv[1]
failed = 0


def check(what, cond, detail=""):
    global failed
    if cond:
        print("ok   - " + what)
    else:
        failed += 1
        print("FAIL - " + what + (": " + detail if detail else ""))


def port_of(listen):
    return int(listen.rsplit(":", 1)[1])


# --- every manifest parses, each object named, all listed in kustomization.yaml ---
files = sorted(f for f in os.listdir(DIR) if f.endswith(".yaml"))
objs = []
for f in files:
    try:
        docs = [d for d in yaml.safe_load_all(open(os.path.join(DIR, f))) if d is not None]
    except yaml.YAMLError as e:
        check("%s parses" % f, False, str(e))
        continue
    named = all(d.get("apiVersion") and d.get("kind") and
                (d["kind"] == "Kustomization" or d.get("metadata", {}).get("name")) for d in docs)
    check("%s parses: %d object(s), each with apiVersion, kind and metadata.name" % (f, len(docs)), docs and named)
    objs += [(f, d) for d in docs]
kust = next(d for f, d in objs if d["kind"] == "Kustomization")
listed = sorted(kust["resources"])
check("kustomization.yaml lists every other manifest", listed == [f for f in files if f != "kustomization.yaml"],
      "%s" % listed)


def one(kind, name=None):
    found = [d for f, d in objs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    if len(found) != 1:
        check("one %s%s" % (kind, " " + name if name else ""), False, "found %d" % len(found))
        sys.exit(1)
    return found[0]


dep = one("Deployment", "coapgw")
cm = one("ConfigMap", "coapgw-config")
secret = one("Secret", "coapgw-secrets")
pdb = one("PodDisruptionBudget")
pod = dep["spec"]["template"]["spec"]
labels = dep["spec"]["template"]["metadata"]["labels"]
ctr = next(c for c in pod["containers"] if c["name"] == "coapgw")
ports = {p["name"]: p for p in ctr["ports"]}
conf = json.loads(cm["data"]["coapgw.json"])


def selects(selector):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


# --- selectors and labels ---
check("the Deployment's selector matches its pod labels", selects(dep["spec"]["selector"]["matchLabels"]))
check("the PodDisruptionBudget selects the gateway's pods, and lets at least one stay up",
      selects(pdb["spec"]["selector"]["matchLabels"]) and
      (pdb["spec"].get("maxUnavailable", 0) < dep["spec"]["replicas"] or
       pdb["spec"].get("minAvailable", 0) < dep["spec"]["replicas"]))
services = [d for f, d in objs if d["kind"] == "Service"]
gw_services = [s for s in services if s["spec"].get("selector") == dep["spec"]["selector"]["matchLabels"]]
check("the Services coapgw-http, coapgw-coap and coapgw-peers select the gateway's pods",
      sorted(s["metadata"]["name"] for s in gw_services) == ["coapgw-coap", "coapgw-http", "coapgw-peers"])
for s in gw_services:
    for p in s["spec"]["ports"]:
        tp = ports.get(p["targetPort"])
        check("Service %s port %s: targetPort %s is a container port of the same protocol"
              % (s["metadata"]["name"], p["name"], p["targetPort"]),
              tp is not None and tp["protocol"] == p.get("protocol", "TCP"))
coap_svc = next(s for s in gw_services if s["metadata"]["name"] == "coapgw-coap")
check("coapgw-coap: UDP only, sessionAffinity ClientIP (a device stays on one pod)",
      coap_svc["spec"].get("sessionAffinity") == "ClientIP" and
      all(p["protocol"] == "UDP" for p in coap_svc["spec"]["ports"]))
peers = next(s for s in gw_services if s["metadata"]["name"] == "coapgw-peers")["spec"]
check("coapgw-peers is headless and lists pods not ready too (a balancer hashing on the URL checks /readyz itself)",
      peers.get("clusterIP") == "None" and peers.get("publishNotReadyAddresses") is True)

# --- ports: the container's are the configuration's listeners ---
check("container port http (TCP) is http.listen's port",
      ports["http"]["protocol"] == "TCP" and ports["http"]["containerPort"] == port_of(conf["http"]["listen"]))
check("container port coap (UDP) is coap.listen's port",
      ports["coap"]["protocol"] == "UDP" and ports["coap"]["containerPort"] == port_of(conf["coap"]["listen"]))
check("container port coaps (UDP) is coap.listen_dtls's port",
      ports["coaps"]["protocol"] == "UDP" and ports["coaps"]["containerPort"] == port_of(conf["coap"]["listen_dtls"]))

# --- probes: routes of docs/openapi.yaml on the http port ---
api_paths = yaml.safe_load(open(os.path.join(ROOT, "docs", "openapi.yaml")))["paths"]
for probe, path, query in (("readinessProbe", "/readyz", "store=optional"), ("livenessProbe", "/healthz", None)):
    g = ctr[probe]["httpGet"]
    want = path + ("?" + query if query else "")
    params = [p["name"] for p in api_paths[path]["get"].get("parameters", [])] if path in api_paths else []
    check("%s: GET %s on port http, a route of docs/openapi.yaml%s" % (probe, want, " with its parameter" if query else ""),
          g["path"] == want and path in api_paths and g["port"] == "http" and
          (query is None or query.split("=")[0] in params))

# --- the configuration: where the entry point reads it, and it passes --check-config ---
mount = next(m for m in ctr["volumeMounts"] if m["name"] == "config")
vol = next(v for v in pod["volumes"] if v["name"] == "config")
entry = open(os.path.join(ROOT, "docker", "entrypoint.sh")).read()
check("the ConfigMap is mounted where docker/entrypoint.sh reads the configuration",
      vol["configMap"]["name"] == "coapgw-config" and
      "conf=%s/%s" % (mount["mountPath"], vol["configMap"]["items"][0]["path"]) in entry and
      vol["configMap"]["items"][0]["key"] == "coapgw.json")
dockerfile = open(os.path.join(ROOT, "docker", "Dockerfile")).read()
sc = pod["securityContext"]
check("runAsUser and runAsGroup are the image's USER",
      "USER %d:%d" % (sc["runAsUser"], sc["runAsGroup"]) in dockerfile)

secret_data = secret.get("stringData", {})
env, missing = {}, []
for e in ctr["env"]:
    if "value" in e:  # $(VAR) names a variable set before it (Kubernetes' expansion)
        env[e["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), e["value"])
    elif "fieldRef" in e["valueFrom"]:
        env[e["name"]] = {"status.podIP": "10.1.2.3"}[e["valueFrom"]["fieldRef"]["fieldPath"]]
    else:
        ref = e["valueFrom"]["secretKeyRef"]
        if ref["name"] != secret["metadata"]["name"] or ref["key"] not in secret_data:
            missing.append("%s (%s/%s)" % (e["name"], ref["name"], ref["key"]))
        env[e["name"]] = secret_data.get(ref["key"], "")
check("every secretKeyRef names a key of the Secret coapgw-secrets", not missing, ", ".join(missing))
check("cluster.advertise is the pod's own address (downward API) on http.listen's port",
      env.get("COAPGW_CLUSTER_ADVERTISE") == "http://10.1.2.3:%d" % port_of(conf["http"]["listen"]))
check("cluster.token comes from the Secret, not the ConfigMap",
      "token" not in conf.get("cluster", {}) and
      any(e["name"] == "COAPGW_CLUSTER_TOKEN" and "secretKeyRef" in e.get("valueFrom", {}) for e in ctr["env"]))
key_envs = [i["key_env"] for i in conf.get("dtls", {}).get("identities", []) if "key_env" in i]
check("every key_env of dtls.identities is set from the Secret",
      key_envs and all(any(e["name"] == k and "secretKeyRef" in e.get("valueFrom", {}) for e in ctr["env"])
                       for k in key_envs))
with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as t:
    t.write(cm["data"]["coapgw.json"])
run_env = dict(env, PATH=os.environ.get("PATH", "/usr/bin:/bin"))
r = subprocess.run([COAPGW, "--check-config", t.name], env=run_env, capture_output=True, text=True)
os.unlink(t.name)
check("the ConfigMap's coapgw.json passes coapgw --check-config with the Deployment's environment",
      r.returncode == 0 and r.stdout.strip().endswith(": ok"), (r.stdout + r.stderr).strip())

# --- Redis: state.redis names a Service of the manifests ---
m = re.fullmatch(r"redis://([\w.-]+):(\d+)", conf["state"]["redis"])
redis_svc = [s for s in services if m and s["metadata"]["name"] == m.group(1)]
check("state.redis (%s) names the Service coapgw-redis and its port" % conf["state"]["redis"],
      len(redis_svc) == 1 and int(m.group(2)) in [p["port"] for p in redis_svc[0]["spec"]["ports"]])
sts = one("StatefulSet", "coapgw-redis")
check("the Service coapgw-redis selects the Redis StatefulSet's pods",
      all(sts["spec"]["template"]["metadata"]["labels"].get(k) == v
          for k, v in redis_svc[0]["spec"]["selector"].items()))

# --- draining fits the grace period ---
pre = ctr["lifecycle"]["preStop"]["exec"]["command"]
grace_s = conf.get("shutdown", {}).get("grace_ms", 1000) / 1000
check("preStop pause + shutdown.grace_ms + 1 s fit in terminationGracePeriodSeconds",
      pre[0] == "sleep" and float(pre[1]) + grace_s + 1 <= pod["terminationGracePeriodSeconds"])

# --- the docs name every manifest ---
cluster_md = open(os.path.join(ROOT, "docs", "cluster.md")).read()
check("docs/cluster.md names every manifest", all("`%s`" % f in cluster_md for f in files),
      " ".join(f for f in files if "`%s`" % f not in cluster_md))

print("%d failed" % failed)
sys.exit(1 if failed else 0)

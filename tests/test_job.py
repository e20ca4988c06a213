"""`job`: the printed ConfigMap + Job (never applied), and the Dockerfile that builds the Job's image."""
import json
import os
import re
import shutil

import pytest
import yaml

from runner import REPO, SHIPPED_STREAMS, run_cli
from kubectl_jetstream import __version__
from kubectl_jetstream.commands.job import IMAGE, MOUNT

ORDERS = """# orders, with a comment that must survive
name: ORDERS
subjects: ["orders.>"]
max_age: 7d   # trailing comment
consumers:
  - durable_name: shipper
    ack_policy: explicit
"""
AUDIT = "name: AUDIT\nsubjects:\n  - audit.>\ndescription: |\n  two\n  lines\n"


@pytest.fixture
def streams(tmp_path):
    d = tmp_path / "streams.d"
    d.mkdir()
    (d / "orders.yaml").write_text(ORDERS)
    (d / "audit.yaml").write_text(AUDIT)
    return d


def job(*args, env=None):
    result = run_cli("job", *args, env=env)
    docs = list(yaml.safe_load_all(result.stdout)) if result.returncode == 0 else []
    return result, [d for d in docs if d]


def parts(docs):
    assert [d["kind"] for d in docs] == ["ConfigMap", "Job"]
    configmap, job_ = docs
    pod = job_["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return configmap, job_, pod, container


def test_init_job(streams):
    result, docs = job("-f", streams, "-n", "nats")
    assert result.returncode == 0, result
    configmap, job_, pod, container = parts(docs)
    assert configmap["apiVersion"] == "v1" and job_["apiVersion"] == "batch/v1"
    assert configmap["metadata"]["namespace"] == job_["metadata"]["namespace"] == "nats"
    assert job_["metadata"]["name"] == "jetstream-init"
    # Every stream file, verbatim, keyed by file name.
    assert configmap["data"] == {"orders.yaml": ORDERS, "audit.yaml": AUDIT}
    # Mounted where the command reads it.
    (volume,) = [v for v in pod["volumes"] if "configMap" in v]
    assert volume["configMap"]["name"] == configmap["metadata"]["name"]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    assert mount["mountPath"] == MOUNT == "/etc/jetstream/streams.d" and mount["readOnly"] is True
    assert container["command"] == ["kubectl-jetstream"]
    assert container["args"] == ["init", "-f", MOUNT, "-n", "nats"]
    assert container["image"] == IMAGE == f"ghcr.io/swe-ai-fleet/kubectl-jetstream:v{__version__}"
    assert job_["spec"]["backoffLimit"] == 2
    assert job_["spec"]["ttlSecondsAfterFinished"] == 3600
    assert pod["restartPolicy"] == "Never"
    assert "serviceAccountName" not in pod
    # Runs as non-root on a read-only root filesystem, with a writable /tmp.
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert any(m["mountPath"] == "/tmp" for m in container["volumeMounts"])


def test_job_options(streams):
    result, docs = job("purge", "ORDERS", "--keep", "10", "-f", streams, "--image", "registry.local/kjs:dev",
                       "--name", "purge-orders", "--service-account", "jetstream-admin", "--ttl", "10m",
                       "--backoff-limit", "0", "--restart-policy", "OnFailure", "-n", "nats", "--service", "my-nats",
                       "--creds-secret", "nats-creds/user.creds")
    assert result.returncode == 0, result
    configmap, job_, pod, container = parts(docs)
    assert job_["metadata"]["name"] == "purge-orders" and configmap["metadata"]["name"] == "purge-orders-streams"
    assert container["image"] == "registry.local/kjs:dev"
    assert pod["serviceAccountName"] == "jetstream-admin"
    assert pod["restartPolicy"] == "OnFailure"
    assert job_["spec"]["ttlSecondsAfterFinished"] == 600 and job_["spec"]["backoffLimit"] == 0
    # The user asked for it by writing the Job: --yes, since a pod has no terminal to ask on.
    assert container["args"] == ["purge", "ORDERS", "-f", MOUNT, "-n", "nats", "--service", "my-nats",
                                 "--creds-secret", "nats-creds/user.creds", "--keep", "10", "--yes"]


def test_shared_flags_anywhere_and_local_ones_left_out(streams):
    result, docs = job("-n", "a", "recreate", "--all", "-f", streams, "-v", "--context", "kind",
                       "--kubeconfig", "/somewhere", "--dry-run")
    assert result.returncode == 0, result
    _, job_, _, container = parts(docs)
    assert container["args"] == ["recreate", "-f", MOUNT, "-n", "a", "-v", "--all", "--dry-run"]
    assert job_["metadata"]["namespace"] == "a"


def test_no_namespace_means_the_one_it_is_applied_in(streams):
    result, docs = job("diff", "-f", streams, "-o", "json")
    assert result.returncode == 0, result
    configmap, job_, _, container = parts(docs)
    assert "namespace" not in configmap["metadata"] and "namespace" not in job_["metadata"]
    assert container["args"] == ["diff", "-f", MOUNT, "--output", "json"]


def test_local_nats_url_and_secrets_are_not_copied_into_the_job(streams, tmp_path):
    creds = tmp_path / "user.creds"
    creds.write_text("secret")
    result, docs = job("-f", streams, "--nats-url", "nats://127.0.0.1:4222", "--creds", creds,
                       env={"NATS_TOKEN": "s3cret"})
    assert result.returncode == 0, result
    _, _, _, container = parts(docs)
    assert container["args"] == ["init", "-f", MOUNT]
    assert "s3cret" not in result.stdout and "127.0.0.1" not in result.stdout
    assert "--nats-url" in result.stderr and "--creds" in result.stderr and "--token" in result.stderr
    result, docs = job("-f", streams, "--nats-url", "nats://nats.nats.svc:4222")
    assert parts(docs)[3]["args"] == ["init", "-f", MOUNT, "--nats-url", "nats://nats.nats.svc:4222"]


@pytest.mark.parametrize("how", ["flag", "env-localhost", "token", "list", "after-verb"])
def test_a_nats_url_with_credentials_is_refused_and_never_shown(streams, how):
    """A Job's args are plain text in the cluster: credentials belong in a Secret (--user-secret ...)."""
    secret = "Pw-Job-9f3c1e"
    url = {"flag": f"nats://alice:{secret}@nats.nats.svc:4222",
           "env-localhost": f"nats://alice:{secret}@localhost:4222", "token": f"nats://{secret}@nats.nats.svc:4222", "after-verb": f"nats://alice:{secret}@nats.nats.svc",
           "list": f"nats://nats-0.nats:4222,nats://alice:{secret}@nats-1.nats:4222"}[how]
    if how == "env-localhost":
        result, _ = job("-f", streams, "-vv", env={"NATS_URL": url})
    elif how == "after-verb":
        result, _ = job("purge", "ORDERS", f"--nats-url={url}", "-f", streams, "-vv")
    else:
        result, _ = job("-f", streams, "--nats-url", url, "-vv")
    assert result.returncode == 2, result
    assert result.stdout == ""
    assert secret not in result.stdout + result.stderr
    assert "holds credentials" in result.stderr and "--user-secret" in result.stderr
    assert "--token-secret" in result.stderr and "--creds-secret" in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("error:")]) == 1, result


def test_secret_flags_are_hidden_in_a_job_usage_error(streams):
    result, _ = job("purge", "ORDERS", "--password", "Pw-Usage-77", "--token=Tok-Usage-88", "--bogus",
                    "-f", streams)
    assert result.returncode == 2 and "unrecognized arguments: --bogus" in result.stderr, result
    assert "Pw-Usage-77" not in result.stderr and "Tok-Usage-88" not in result.stderr
    assert "--password ***" in result.stderr and "--token=***" in result.stderr


@pytest.mark.parametrize("words", [
    ("--passw", "Pw-Abbrev-55", "--bogus"),  # an abbreviation argparse accepts
    ("--", "--tok=Tok-Abbrev-66"),  # argparse quotes the word back: "ambiguous option: --tok=..."
])
def test_abbreviated_secret_flags_are_hidden_in_a_job_usage_error(streams, words):
    result, _ = job("purge", "ORDERS", *words, "-f", streams)
    assert result.returncode == 2, result
    assert "Pw-Abbrev-55" not in result.output and "Tok-Abbrev-66" not in result.output


NACK_WITH_CONNECTION = """apiVersion: jetstream.nats.io/v1beta2
kind: Stream
metadata:
  name: orders
spec:
  name: ORDERS
  subjects: ["orders.>"]
  storage: file
  maxAge: 1h
  servers: ["nats://bob:Pw-Nack-51b2@nats.nats.svc:4222"]
  creds: /etc/nats/Creds-Path-Hush.creds
  nkey: SUANKEYHUSHHUSH
  tls:
    clientCert: /etc/tls/Cert-Path-Hush.pem
"""


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_nack_connection_settings_stay_out_of_the_configmap(tmp_path, suffix):
    from kubectl_jetstream.spec.load import load_specs

    d = tmp_path / "streams.d"
    d.mkdir()
    doc = yaml.safe_load(NACK_WITH_CONNECTION)
    text = NACK_WITH_CONNECTION if suffix == ".yaml" else json.dumps(doc)
    (d / f"orders{suffix}").write_text(text)
    (d / "audit.yaml").write_text(AUDIT)
    result, docs = job("-f", d, "-vv")
    assert result.returncode == 0, result
    configmap = parts(docs)[0]
    for hidden in ("Pw-Nack-51b2", "Creds-Path-Hush", "SUANKEYHUSHHUSH", "Cert-Path-Hush"):
        assert hidden not in result.stdout + result.stderr
    for field in ("servers", "creds", "nkey", "tls"):
        assert f"spec.{field}: left out of the Job's ConfigMap" in result.stderr
    assert configmap["data"]["audit.yaml"] == AUDIT  # other files stay verbatim
    # What the pod reads defines the same stream.
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    for key, value in configmap["data"].items():
        (mounted / key).write_text(value)
    assert set(configmap["data"]) == {f"orders{suffix}", "audit.yaml"}
    def configs(path):
        return {s.name: (s.config, s.consumers) for s in load_specs([str(path)], warn=lambda *_: None)}
    assert configs(mounted) == configs(d)


@pytest.mark.parametrize("args,message", [
    (["purge"], "--all"),
    (["init", "NOPE"], "not defined in streams.d"),
    (["purge", "ORDERS", "--bogus"], "unrecognized arguments: --bogus"),
    (["purge", "ORDERS", "--seq", "1", "--keep", "2"], "not allowed with"),
    (["--name", "Not_A_Name"], "--name"),
    (["--ttl", "soon"], "--ttl"),
    (["--backoff-limit", "-1"], "--backoff-limit"),
    (["ORDERS"], "invalid choice"),
])
def test_usage_errors(streams, args, message):
    result, _ = job("-f", streams, *args)
    assert result.returncode == 2, result
    assert message in result.stderr and result.stdout == ""


def test_invalid_stream_files_exit_2_and_print_nothing(streams):
    (streams / "bad.yaml").write_text("name: BAD\nmax_age: forever\n")
    result, _ = job("-f", streams)
    assert result.returncode == 2 and result.stdout == "", result
    assert "bad.yaml" in result.stderr


def test_two_files_with_one_name_cannot_share_a_configmap(streams, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "orders.yaml").write_text("name: ORDERS2\nsubjects: [orders2.>]\n")
    result, _ = job("-f", streams, "-f", other)
    assert result.returncode == 2 and "same file name" in result.stderr, result


def test_shipped_streams_fit_in_a_configmap():
    result, docs = job("-f", SHIPPED_STREAMS)
    assert result.returncode == 0, result
    configmap = parts(docs)[0]
    assert set(configmap["data"]) == {p.name for p in SHIPPED_STREAMS.glob("*.yaml")}


def test_the_mounted_configmap_loads_each_stream_once(streams, tmp_path):
    """A ConfigMap volume is `..data -> ..<timestamp>/` plus one symlink per key: the pod reads it as a folder."""
    from kubectl_jetstream.spec.load import load_specs

    mount = tmp_path / "mount"
    stamp = mount / "..2026_01_01_00_00_00.000000000"
    stamp.mkdir(parents=True)
    for f in streams.iterdir():
        shutil.copy(f, stamp / f.name)
    os.symlink(stamp.name, mount / "..data")
    for f in streams.iterdir():
        os.symlink(f"..data/{f.name}", mount / f.name)
    assert sorted(s.name for s in load_specs([str(mount)], warn=lambda *_: None)) == ["AUDIT", "ORDERS"]


# -- the image --------------------------------------------------------------------------------------------
def dockerfile():
    text = (REPO / "Dockerfile").read_text()
    return [line for line in re.sub(r"\\\n", " ", text).splitlines() if line.strip() and not line.startswith("#")]


def test_dockerfile_builds_from_the_release_archive():
    lines = dockerfile()
    assert lines[0] == "FROM python:3.12-alpine"
    (arg,) = [line for line in lines if line.startswith("ARG VERSION=")]
    assert arg == f"ARG VERSION={__version__}"
    (add,) = [line for line in lines if line.startswith(("ADD ", "COPY "))]
    source, dest = add.split()[1:3]
    assert source.replace("${VERSION}", __version__) == f"dist/kubectl-jetstream-v{__version__}.tar.gz"
    assert dest.startswith("/opt/kubectl-jetstream")
    assert not any("pip install" in line for line in lines)
    # The entry point is the archive's executable, linked onto PATH.
    manifest = yaml.safe_load((REPO / "plugin.yaml").read_text())
    shipped = {f["to"] if f["to"] != "." else f["from"] for f in manifest["spec"]["platforms"][0]["files"]}
    (entry,) = [line for line in lines if line.startswith("ENTRYPOINT")]
    assert yaml.safe_load(entry.split(None, 1)[1]) == ["kubectl-jetstream"]
    assert "kubectl-jetstream" in shipped
    assert any(f"ln -s {dest.rstrip('/')}/kubectl-jetstream /usr/local/bin/kubectl-jetstream" in line
               for line in lines)
    # Non-root, numeric, so runAsNonRoot can verify it.
    (user,) = [line for line in lines if line.startswith("USER ")]
    assert re.fullmatch(r"USER \d+(:\d+)?", user) and not user.startswith("USER 0")


def test_js_domain_goes_into_the_job(streams):
    result, docs = job("diff", "-f", streams, "--js-domain", "leaf", env={})
    assert result.returncode == 0, result
    _, _, _, container = parts(docs)
    args = container["args"]
    assert args[args.index("--js-domain") + 1] == "leaf"
    from_env, docs = job("-f", streams, env={"NATS_JS_DOMAIN": "spoke"})
    assert from_env.returncode == 0, from_env
    args = parts(docs)[3]["args"]
    assert args[args.index("--js-domain") + 1] == "spoke"


def test_the_configmap_carries_buckets_and_consumer_only_files(streams):
    (streams / "buckets.yaml").write_text("kind: KeyValue\nbucket: config\n---\nkind: ObjectStore\nbucket: files\n")
    (streams / "shipper.yaml").write_text("apiVersion: jetstream.nats.io/v1beta2\nkind: Consumer\n"
                                          "metadata: {name: late}\nspec: {streamName: AUDIT, durableName: late}\n")
    result, docs = job("-f", streams)
    assert result.returncode == 0, result
    configmap = parts(docs)[0]
    assert set(configmap["data"]) == {"orders.yaml", "audit.yaml", "buckets.yaml", "shipper.yaml"}
    assert configmap["data"]["shipper.yaml"] == (streams / "shipper.yaml").read_text()


def test_job_imports_only_its_verbs_command_module(streams):
    """`job purge` reads purge's flags from purge's parser alone: no other command's module is imported."""
    import subprocess
    import sys

    from runner import clean_env

    code = ("import contextlib, io, sys\nfrom kubectl_jetstream import cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    assert cli.main(['job', 'purge', 'ORDERS', '--keep', '5', '-f', {str(streams)!r}]) == 0\n"
            "print(sorted(m for m in sys.modules if m.startswith('kubectl_jetstream.commands.')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=clean_env(),
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    loaded = {m.rsplit(".", 1)[-1] for m in eval(proc.stdout.strip().splitlines()[-1])}
    assert {"job", "purge"} <= loaded and not loaded & {"init", "diff", "ls", "recreate", "check", "view", "export"}


def test_job_verb_help_describes_the_verb():
    from kubectl_jetstream.commands import COMMANDS

    result = run_cli("job", "purge", "--help")
    assert COMMANDS["purge"] in result.stdout and "usage: kubectl jetstream purge" in result.stdout, result


@pytest.mark.parametrize("flag", ["--timeout=soon", "--request-timeout=inf", "--timeout=-5s"])
def test_a_bad_timeout_fails_now_not_in_the_job(flag):
    result = run_cli("job", "init", flag, "-f", str(SHIPPED_STREAMS))
    assert result.returncode == 2 and flag.split("=")[0] in result.stderr and result.stdout == "", result

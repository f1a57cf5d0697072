"""nginx.py — a throw-away nginx as a round-robin load balancer in front of gatehouse instances
(tests/e2e/test_pg_balanced.py). Debian's nginx (`nginx-light`, /usr/sbin/nginx).

    lb = Nginx(tmp_path / "nginx", [port_a, port_b], port=free_port()).start()
    lb.base            # http://127.0.0.1:PORT, the realm's issuer
    lb.access_log()    # one dict per request: method, uri, status, upstream (addr[, addr…])
    lb.stop()

Everything lives under the prefix directory: nginx.conf, the pid file, the error and access
logs and the temp directories; the master runs in the foreground (`daemon off;`, its own
session) with one worker, and is stopped by its PID. When the tests run as root the worker
runs as root too (`user root;`): the default worker user (nobody) could not enter pytest's
0700 temp directories.

The upstream block is plain round-robin with no keepalive to the instances (each proxied
request is a new HTTP/1.0 connection; `keepalive=True` turns an upstream connection cache of
8 on). `proxy_next_upstream error timeout` sends a request to the next instance when the
connection to one fails; nginx never resends a POST (or PATCH, LOCK) that was already sent to
an instance unless `non_idempotent` is listed, and it is not: see the test module.
"""
import os
import pwd
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

NGINX = Path(os.environ.get("GATEHOUSE_NGINX", "/usr/sbin/nginx"))
READY_TIMEOUT = 10
STOP_TIMEOUT = 10

# access_log format: enough to tell which instance served a request (and which were tried)
LOG_FORMAT = ('$request_method $uri $status up=[$upstream_addr] ups=[$upstream_status] '
              'rid=$upstream_http_x_request_id rt=$request_time')
LOG_RE = re.compile(r"^(\S+) (\S+) (\d{3}) up=\[([^\]]*)\] ups=\[([^\]]*)\] rid=(\S*) rt=(\S+)$")


def available() -> bool:
    return NGINX.is_file() and os.access(NGINX, os.X_OK)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _compiled_without() -> set:
    """Modules this nginx was built without (`nginx -V`): their temp-path directives would be
    unknown."""
    p = subprocess.run([str(NGINX), "-V"], capture_output=True, text=True, timeout=10)
    return set(re.findall(r"--without-http_(\w+)_module", p.stdout + p.stderr))


class Nginx:
    def __init__(self, prefix: Path, upstream_ports, port: int = None, keepalive=False,
                 host="127.0.0.1"):
        self.prefix = Path(prefix)
        self.upstream_ports = list(upstream_ports)
        self.port = port or free_port()
        self.keepalive = keepalive
        self.host = host
        self.conf = self.prefix / "nginx.conf"
        self.pid_file = self.prefix / "nginx.pid"
        self.stderr_path = self.prefix / "nginx.stderr"
        self.proc = None
        self.pid = None
        self.issuer = self.base        # Server-like: OP/Browser map issuer URLs through url()
        self.tls_ca = None

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path_or_url: str) -> str:
        return self.base + path_or_url if path_or_url.startswith("/") else path_or_url

    def config(self) -> str:
        without = _compiled_without()
        temps = "\n".join(f"    {name}_temp_path tmp/{name};"
                          for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
                          if name not in without)
        user = f"user {pwd.getpwuid(0).pw_name};" if os.geteuid() == 0 else ""
        servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;"
                            for p in self.upstream_ports)
        ka_up = "        keepalive 8;" if self.keepalive else ""
        # keepalive to the upstream needs HTTP/1.1 and an empty Connection header
        ka_loc = ('            proxy_http_version 1.1;\n'
                  '            proxy_set_header Connection "";') if self.keepalive else ""
        return f"""# throw-away load balancer for gatehouse tests (tests/tools/nginx.py)
{user}
worker_processes 1;
pid {self.pid_file};
error_log {self.prefix}/error.log info;
events {{
    worker_connections 256;
}}
http {{
    log_format gh '{LOG_FORMAT}';
    access_log {self.prefix}/access.log gh;
{temps}
    upstream gatehouse {{
        # round-robin (the default): every request may land on any instance
{servers}
{ka_up}
    }}
    server {{
        listen {self.host}:{self.port};
        server_tokens off;
        client_max_body_size 1m;
        location / {{
            proxy_pass http://gatehouse;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            # a failed connection (refused, reset before the request was sent, timed out) goes
            # to the other instance; a POST that reached an instance is never sent again
            # (no non_idempotent): a second POST /token with the same code is a replay
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 2;
            proxy_connect_timeout 2s;
            proxy_read_timeout 30s;
            proxy_redirect off;
{ka_loc}
        }}
    }}
}}
"""

    def start(self) -> "Nginx":
        if not available():
            raise FileNotFoundError(f"nginx not found at {NGINX} (Debian package nginx-light)")
        self.prefix.mkdir(parents=True, exist_ok=True)
        (self.prefix / "tmp").mkdir(exist_ok=True)
        self.conf.write_text(self.config())
        with open(self.stderr_path, "wb") as ef:
            self.proc = subprocess.Popen(
                [str(NGINX), "-p", str(self.prefix), "-e", str(self.prefix / "error.log"),
                 "-c", str(self.conf), "-g", "daemon off;"],
                stdin=subprocess.DEVNULL, stdout=ef, stderr=ef, cwd=str(self.prefix),
                start_new_session=True)
        self.pid = self.proc.pid
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited {self.proc.returncode}:\n{self.logs()}")
            try:
                socket.create_connection((self.host, self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"nginx not listening on {self.port} within {READY_TIMEOUT} s:\n"
                           f"{self.logs()}")

    def logs(self) -> str:
        out = []
        for f in (self.stderr_path, self.prefix / "error.log"):
            try:
                out.append(f"--- {f.name}\n" + f.read_text("utf-8", "replace")[-4000:])
            except OSError:
                pass
        return "\n".join(out)

    def access_log(self) -> list:
        """The access log as dicts (method, uri, status, upstream: [addr…] in the order nginx
        tried them, upstream_status: [code or 502…], rid: X-Request-Id of the answer)."""
        try:
            text = (self.prefix / "access.log").read_text("utf-8", "replace")
        except OSError:
            return []
        out = []
        for ln in text.splitlines():
            m = LOG_RE.match(ln)
            if not m:
                continue
            ups = [u.strip() for u in re.split(r"[,:]\s", m.group(4)) if u.strip()] \
                if m.group(4) != "-" else []
            out.append({"method": m.group(1), "uri": m.group(2), "status": int(m.group(3)),
                        "upstream": ups, "upstream_status": m.group(5),
                        "rid": m.group(6)})
        return out

    def stop(self, timeout=STOP_TIMEOUT) -> int:
        """Fast shutdown (SIGTERM) of our master, by its PID; its worker goes with it. After
        timeout, SIGKILL to our process group (the master started it in a session of its
        own: only our master and its worker are in it)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode

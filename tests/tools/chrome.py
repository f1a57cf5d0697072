"""chrome.py — a real browser for the end-to-end tests: Debian's headless Chromium driven by
Selenium (Debian's python3-selenium) through Debian's chromedriver.

    with chrome.browser() as d:              # d: a selenium WebDriver
        d.get("http://127.0.0.1:8080/…")
        chrome.wait_for(d, lambda d: "Sign in" in d.title)

Every browser gets a fresh, temporary profile (--user-data-dir, and HOME too), so no cookie or
cache survives from one to the next, and is always quit: when the `with` block ends,
chromedriver and every Chromium process it started are gone (a straggler is killed by its pid
and reported as an error). Waits are bounded: pages load within PAGE_LOAD_TIMEOUT, wait_for
gives up after WAIT_TIMEOUT.
"""
import contextlib
import json
import os
import shutil
import signal
import tempfile
import time
import urllib.parse

try:   # a missing python3-selenium is reported by browser(), as a failure that names it
    from selenium import webdriver
    from selenium.common.exceptions import (NoSuchElementException,
                                            StaleElementReferenceException, TimeoutException,
                                            WebDriverException)
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # pragma: no cover - depends on the machine
    webdriver = None

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# The flags of issue 6, verbatim; a profile of its own and a window size come on top.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")
WINDOW = (900, 760)            # CSS pixels: the sign-in card and some margin, readable
PAGE_LOAD_TIMEOUT = 30         # seconds; generous for an ASan build of the server
WAIT_TIMEOUT = 20
QUIT_TIMEOUT = 15
MARKER = "GATEHOUSE_TEST_CHROME"   # in the environment of every process of one browser


def missing() -> list:
    """The browser parts that are not installed (make test-deps installs them)."""
    out = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if webdriver is None:
        out.append("python3-selenium")
    return out


def _profile_pids(profile: str) -> list:
    """pids of live processes of this browser: chromedriver and the processes it started
    carry MARKER=profile in their environment (the crash handler, which detaches from its
    parent, too); the zygote's children, whose environment is cleaned, name the profile on
    their command line."""
    pids = []
    marker = b"\0" + f"{MARKER}={profile}".encode() + b"\0"
    flag = f"--user-data-dir={profile}".encode()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                env = b"\0" + f.read() + b"\0"
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ") + b" "   # a zygote's is one string
            with open(f"/proc/{name}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if (marker in env or flag + b" " in cmd) and state != b"Z":
            pids.append(int(name))
    return pids


def _options(profile: str, window, perf_log: bool):
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for flag in FLAGS:
        o.add_argument(flag)
    o.add_argument(f"--user-data-dir={profile}")
    o.add_argument(f"--window-size={window[0]},{window[1]}")
    # the console (CSP violations, script errors) and, with perf_log, the DevTools network
    # events: every document request and redirect the browser made
    prefs = {"browser": "ALL"}
    if perf_log:
        prefs["performance"] = "ALL"
    o.set_capability("goog:loggingPrefs", prefs)
    return o


@contextlib.contextmanager
def browser(window=WINDOW, perf_log=False):
    """A headless Chromium on a fresh profile; quit and cleaned up however the block ends."""
    gone = missing()
    if gone:
        raise AssertionError(f"the real-browser tests need {', '.join(gone)} "
                             f"(Debian: chromium chromium-driver python3-selenium; make test-deps)")
    profile = tempfile.mkdtemp(prefix="gh-chromium-")
    log = os.path.join(profile, "chromedriver.log")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    # HOME and XDG dirs inside the profile: nothing lands in the user's ~/.config or ~/.cache
    # (Chromium's crash handler keeps its database under $HOME otherwise)
    env.update({MARKER: profile, "HOME": profile, "XDG_CONFIG_HOME": f"{profile}/.config",
                "XDG_CACHE_HOME": f"{profile}/.cache"})
    driver = None
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER, log_path=log, env=env),
                                  options=_options(profile, window, perf_log))
        driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT)
        driver.set_script_timeout(PAGE_LOAD_TIMEOUT)
        driver.profile_dir = profile
        yield driver
    finally:
        leaked = []
        service = driver.service if driver is not None else None
        try:
            if driver is not None:
                driver.quit()
        finally:
            deadline = time.monotonic() + QUIT_TIMEOUT
            while time.monotonic() < deadline:
                if not _profile_pids(profile) and \
                        (service is None or service.process is None or
                         service.process.poll() is not None):
                    break
                time.sleep(0.05)
            for pid in _profile_pids(profile):
                leaked.append(pid)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if service is not None and service.process is not None and \
                    service.process.poll() is None:
                leaked.append(service.process.pid)
                service.process.kill()
                service.process.wait(5)
            shutil.rmtree(profile, ignore_errors=True)
        if leaked:
            raise AssertionError(f"browser processes still running {QUIT_TIMEOUT} s after "
                                 f"quit (killed): {leaked}")


def _mid_navigation(e) -> bool:
    """The exception says the element read belongs to a document being replaced."""
    return isinstance(e, StaleElementReferenceException) or \
        "does not belong to the document" in (getattr(e, "msg", "") or "")


def wait_for(driver, condition, timeout=WAIT_TIMEOUT, what=None):
    """WebDriverWait(driver, timeout).until(condition), failing with the page it is on."""
    def looking(d):
        try:
            return condition(d)
        except WebDriverException as e:
            # chromedriver reports an element of a document that a navigation is replacing
            # either as stale or, racing the DevTools protocol, as an "unhandled inspector
            # error: Node with given id does not belong to the document" (CI saw one)
            if _mid_navigation(e):
                return False
            raise

    try:
        # a page that is replaced while the condition reads it (a navigation, a form post)
        # leaves stale elements: look again at the next poll
        return WebDriverWait(driver, timeout, poll_frequency=0.05,
                             ignored_exceptions=(NoSuchElementException,
                                                 StaleElementReferenceException)).until(looking)
    except TimeoutException:
        body = ""
        with contextlib.suppress(Exception):
            body = driver.find_element("tag name", "body").text[:1500]
        raise AssertionError(f"waited {timeout} s for {what or condition} in vain; the browser "
                             f"is at {driver.current_url}\n{body}") from None


def wait_url(driver, prefix: str, timeout=WAIT_TIMEOUT):
    """Wait until the address bar starts with prefix (after redirects and page loads)."""
    return wait_for(driver, lambda d: d.current_url.startswith(prefix) and
                    d.execute_script("return document.readyState") == "complete",
                    timeout, what=f"a page at {prefix}")


def text(driver) -> str:
    """The visible text of the page."""
    return driver.find_element("tag name", "body").text


def documents(driver) -> list:
    """(url, status) of every top-level document request since the last call, in order,
    redirects included (status of the response that answered it, None while unanswered);
    needs browser(perf_log=True)."""
    out = []
    by_id = {}
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        p = msg.get("params", {})
        if msg.get("method") == "Network.requestWillBeSent" and p.get("type") == "Document":
            rid = p["requestId"]
            if p.get("redirectResponse") and rid in by_id:
                out[by_id[rid]][1] = p["redirectResponse"]["status"]
            by_id[rid] = len(out)
            out.append([p["request"]["url"], None])
        elif msg.get("method") == "Network.responseReceived" and p.get("type") == "Document":
            rid = p["requestId"]
            if rid in by_id:
                out[by_id[rid]][1] = p["response"]["status"]
    return [(u, s) for u, s in out]


def path_of(url: str) -> str:
    """scheme://host:port/path of a URL, without query or fragment."""
    u = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, u.path, "", ""))

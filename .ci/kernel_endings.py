"""Each way a Rust (evcxr) Jupyter kernel can end, checked against the cache file it used.

Run by .ci/notebooks.sh with the virtual environment's Python:
    kernel_endings.py WORK_DIR CORE_DIR FLECHE_EVCXR FLECHE

For every ending, a fresh kernel in its own directory defines a cached function, calls it
(a miss, then hits in later cells, including the first hit of each cell, timed), keeps a
Query, a Table and a Call in variables, and then ends:
  - shutdown:  Jupyter's shutdown, as at the end of nbconvert or "Shut Down Kernel";
  - restart:   Jupyter's restart; the new kernel finds every result;
  - abort:     a cell aborts the process (evcxr restarts it); the next cell still hits;
  - kill:      the kernel and evcxr's runtime process are killed with SIGKILL.
After a shutdown or restart the file must pass the integrity check without repair. After a
kill it may need repair; then `fleche ls` must still list its calls (from a repaired private
copy, leaving the file as it was) and the advice printed must work when followed: the next
kernel repairs the file by opening it and hits.
"""
import os
import queue
import signal
import statistics
import subprocess
import sys
import time

from jupyter_client.manager import KernelManager

WORK, CORE, FLECHE_EVCXR, FLECHE = sys.argv[1:5]

SETUP = [
    f':dep fleche = {{ path = "{CORE}" }}',
    "use fleche::fleche;",
    '#[fleche] fn sq(x: u64) -> u64 { println!("computing sq {x}"); x * x }',
]


class Kernel:
    def __init__(self, cwd):
        self.km = KernelManager(kernel_name="rust")
        self.km.start_kernel(cwd=cwd)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=180)

    def run(self, code, timeout=900, may_fail=False):
        """Runs one cell; returns its text output (streams and results)."""
        msg_id = self.kc.execute(code)
        out, error = [], None
        deadline = time.time() + timeout
        while True:
            msg = self.kc.get_iopub_msg(timeout=max(1, deadline - time.time()))
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                out.append(content["data"].get("text/plain", ""))
            elif kind == "error":
                error = f"{content['ename']}: {content['evalue']}"
            elif kind == "status" and content["execution_state"] == "idle":
                break
        # evcxr can forward a cell's stdout just after it reports idle (seen once in CI):
        # take what comes for this cell within half a second more.
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=0.5)
            except queue.Empty:
                break
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
        text = "".join(out)
        if error and not may_fail:
            sys.exit(f"cell failed: {code!r}\n{error}\n{text}")
        return text

    def runtime_pids(self):
        """evcxr's runtime processes: the children of the kernel process."""
        parent = self.km.provisioner.process.pid
        kids = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True)
        return [int(p) for p in kids.stdout.split()]


def check(path):
    done = subprocess.run([FLECHE_EVCXR, "check", path], capture_output=True, text=True)
    return done.returncode, (done.stdout + done.stderr).strip()


def expect_clean(path, ending):
    code, text = check(path)
    if code != 0 or "integrity check passed" not in text:
        sys.exit(f"after {ending}, the cache is not clean: {text}")
    print(f"{ending}: {text}")


first_hits = []


def use_cache(k):
    """A miss, hits in later cells (the first of each cell timed), and variables that hold a
    Query, a Table and a Call, as a user's notebook would."""
    for cell in SETUP:
        k.run(cell)
    out = k.run("println!(\"sq={}\", sq(7));")
    assert "sq=49" in out, out
    for _ in range(5):
        out = k.run(
            "let t0 = std::time::Instant::now(); let v: u64 = sq(7); "
            "println!(\"FIRST_HIT_US {} {v}\", t0.elapsed().as_micros());"
        )
        assert "computing" not in out, f"a hit recomputed: {out}"
        first_hits.append(int(out.split("FIRST_HIT_US ")[1].split()[0]))
    k.run("let q: sq::Query = sq::query();")
    k.run("let t: fleche::Table = fleche::cache().table();")
    k.run("let c: fleche::Call = sq::query().only().unwrap();")


def main():
    # shutdown, right after the last call (nbconvert ends a kernel this way)
    d = os.path.join(WORK, "shutdown"); os.makedirs(d)
    k = Kernel(d)
    use_cache(k)
    k.run("sq(8);")
    k.km.shutdown_kernel(now=False)
    expect_clean(os.path.join(d, ".fleche/cache.redb"), "shutdown")

    # restart: the new kernel has every result
    d = os.path.join(WORK, "restart"); os.makedirs(d)
    k = Kernel(d)
    use_cache(k)
    k.km.restart_kernel(now=False)
    k.kc.wait_for_ready(timeout=180)
    expect_clean(os.path.join(d, ".fleche/cache.redb"), "restart")
    for cell in SETUP:
        k.run(cell)
    out = k.run("println!(\"sq={}\", sq(7));")
    assert "sq=49" in out and "computing" not in out, f"after a restart: {out}"
    k.km.shutdown_kernel(now=False)
    expect_clean(os.path.join(d, ".fleche/cache.redb"), "restart, then shutdown")

    # abort inside a cell: evcxr starts a new runtime process; the next cell still hits
    d = os.path.join(WORK, "abort"); os.makedirs(d)
    k = Kernel(d)
    use_cache(k)
    k.run("std::process::abort();", may_fail=True)
    out = k.run("println!(\"sq={}\", sq(7));")
    assert "sq=49" in out and "computing" not in out, f"after an abort: {out}"
    k.km.shutdown_kernel(now=False)
    expect_clean(os.path.join(d, ".fleche/cache.redb"), "abort, then shutdown")

    # SIGKILL of the kernel and its runtime, within a second of the last call
    d = os.path.join(WORK, "kill"); os.makedirs(d)
    path = os.path.join(d, ".fleche/cache.redb")
    k = Kernel(d)
    use_cache(k)
    k.run("sq(9);")
    pids = k.runtime_pids()
    for pid in pids + [k.km.provisioner.process.pid]:
        os.kill(pid, signal.SIGKILL)
    time.sleep(1)
    code, text = check(path)
    print(f"kill: {text}")
    if code != 0:
        sys.exit(f"after a kill the file must be readable, perhaps needing repair: {text}")
    listed = subprocess.run([FLECHE, "ls", "--cache", path], capture_output=True, text=True)
    if listed.returncode != 0 or "sq" not in listed.stdout:
        sys.exit(f"`fleche ls` cannot show a killed kernel's cache:\n{listed.stdout}{listed.stderr}")
    print("kill: `fleche ls` lists the calls:", listed.stderr.strip().splitlines()[:1])
    # The advice: the next program that opens it for writing repairs it.
    k.kc.stop_channels()
    k = Kernel(d)
    for cell in SETUP:
        k.run(cell)
    out = k.run("println!(\"sq={}\", sq(9));")
    assert "sq=81" in out and "computing" not in out, f"after a kill: {out}"
    k.km.shutdown_kernel(now=False)
    expect_clean(path, "kill, then a new kernel, then shutdown")

    hits = sorted(first_hits)
    print(
        f"first hit in a cell (cells run one after another), over {len(hits)} cells: "
        f"median {statistics.median(hits)} us, max {hits[-1]} us (in cell order: {first_hits})"
    )


main()

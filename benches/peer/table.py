"""Prints the peer benchmark's table: one row per workload, one column per tool, medians with
their ratio to fleche (x10 = ten times fleche's time). Input: `tool<TAB>workload<TAB>value`."""
import platform
import sys
import time

TOOLS = ["fleche", "cached", "fleche-py memory", "fleche-py pickle", "joblib"]


def show(value, workload):
    if workload.startswith("bytes"):
        return f"{value:.0f} B"
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.2g} ns"


def main():
    rows = {}
    for path in sys.argv[1:]:
        for line in open(path):
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3:
                tool, workload, value = parts
                rows.setdefault(workload, {})[tool] = float(value)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    import os
    print(f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, {cpu}")
    print("| workload | " + " | ".join(TOOLS) + " |")
    print("|---|" + "---|" * len(TOOLS))
    for workload, by_tool in rows.items():
        base = by_tool.get("fleche")
        cells = []
        for tool in TOOLS:
            if tool not in by_tool:
                cells.append("")
                continue
            v = by_tool[tool]
            ratio = f" (x{v / base:.3g})" if base and tool != "fleche" else ""
            cells.append(show(v, workload) + ratio)
        print(f"| {workload} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

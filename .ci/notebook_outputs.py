"""Reads an executed notebook for the CI checkers (check_*.py beside it).

Stops with the cell's source when a cell failed or wrote an error, so a checker never passes
over a broken run; returns what the cells printed and displayed, and how long they took.
"""
import sys
from datetime import datetime

import nbformat


def read(path):
    """(text, seconds): every cell's printed and displayed text (text/plain), one string, and
    the seconds its cells took together (nbclient's timing metadata)."""
    nb = nbformat.read(path, as_version=4)
    text, seconds = [], 0.0
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                sys.exit(f"{path}: a cell failed: {o.get('ename')}: {o.get('evalue')}\n{cell.source}")
            if o.get("name") == "stderr" and "error" in o.get("text", "").lower():
                sys.exit(f"{path}: a cell wrote an error:\n{o['text']}\n{cell.source}")
            text.append(o.get("text", ""))
            text.append(o.get("data", {}).get("text/plain", ""))
        t = cell.get("metadata", {}).get("execution", {})
        if "shell.execute_reply" in t and "iopub.execute_input" in t:
            start = datetime.fromisoformat(t["iopub.execute_input"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(t["shell.execute_reply"].replace("Z", "+00:00"))
            seconds += (end - start).total_seconds()
    return "\n".join(text), seconds

"""The baseline of the API benchmark: a bare FastAPI endpoint under the same server settings as ``credo serve``.

PYTHONPATH=. .venv/bin/python -m bench.bare_app --port 8001
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI

app = FastAPI()
ANSWER = {
    "applies": False,
    "measure": "loan-fast-track",
    "kind": "reward",
    "reason": "grade below AA",
    "legal_basis": None,
    "since": None,
    "rulebook_version": "2026.1",
    "decision_id": "00000000-0000-0000-0000-000000000000",
}


@app.get("/v1/bare/{measure_id}")
async def bare(measure_id: str, subject: str) -> dict[str, object]:
    return {**ANSWER, "measure": measure_id}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        server_header=False,
        loop="uvloop",
        http="httptools",
        log_config=None,
    )


if __name__ == "__main__":
    main()

"""Pictures of the main pages, in English and Chinese, from the demo's store (scripts/web-screenshots)."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from credo.demo.visitors import visitors, worth_disputing
from credo.services import signin
from credo.services.actor import Actor
from credo.services.unit_of_work import unit_of_work
from credo.store.bootstrap import open_store

CHROMIUM = os.environ.get("CREDO_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

JOURNEY = "journey"  # not a path: the steps of a dispute, in journey()

# (who, path, picture name): the pages docs/web.md shows, in the order it walks through them.
PAGES = [
    ("public", "/", "home"),
    ("public", "/rulebook", "rulebook"),
    ("public", "/lists/dishonest-judgment-debtors", "list"),
    ("public", "/statistics", "statistics"),
    ("public", "/due-process", "due-process"),
    ("subject", "/me", "report"),
    ("subject", "/me/disputes", "disputes"),
    ("subject", "/me/notices", "notices"),
    ("subject", "/me/consent", "consent"),
    ("subject", "/me/email", "email"),
    ("subject", JOURNEY, "dispute"),
    ("reviewer", "/review", "review-queue"),
    ("reviewer", JOURNEY, "review-case"),
    ("relying", "/counter", "counter"),
    ("operator", "/operator", "operator"),
    ("operator", "/operator/rulebooks", "operator-rulebooks"),
    ("operator", "/operator/quarantine", "operator-quarantine"),
    ("auditor", "/audit", "audit-trail"),
]
TALLEST = 2400  # px: a long page (the rulebook) is shown from its top
PHONE, DESK = 390, 1024  # px: the public and a subject's pages are read on a phone; the desks on a screen


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(db: str, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "credo", "--db", db, "serve", "--port", str(port)], stderr=subprocess.DEVNULL
    )
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit(f"credo serve stopped at start (exit {process.returncode})")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return process
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    process.terminate()
    raise SystemExit("credo serve did not start")


def codes(db: str, demo_out: Path) -> dict[str, str]:
    """A one-time sign-in code for each role, issued on the store as the demo issues its links."""
    records, scores = demo_out / "records.parquet", demo_out / "scores.parquet"
    if not records.exists() or not scores.exists():
        raise SystemExit(f"no demo output in {demo_out}: run scripts/demo first")
    store = open_store(db)
    try:
        issued = visitors(store, worth_disputing(str(records), str(scores)), actor="web-screenshots", base_url="")
        with unit_of_work(store) as uow:
            auditor = signin.issue_link(uow, Actor("operator", "web-screenshots"), "auditor", "demo-auditor", "1h")
    finally:
        store.engine.dispose()
    found = {"subject": "", "relying": "", "reviewer": "", "operator": "", "auditor": auditor}
    roles = ["subject", "relying", "reviewer", "operator"][-len(issued) :]
    for role, visitor in zip(roles, issued, strict=True):
        found[role] = visitor.link.rsplit("/", 1)[1]
    return found


def sign_in(page: Page, code: str) -> None:
    page.goto(f"/signin/{code}?lang=en")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()


def picture(page: Page, width: int, target: Path) -> None:
    """The page from its top, at most :data:`TALLEST` high."""
    height = min(page.evaluate("document.documentElement.scrollHeight"), TALLEST)
    page.set_viewport_size({"width": width, "height": height})
    page.screenshot(path=str(target))
    page.set_viewport_size({"width": width, "height": 800})


def journey(page: Page, role: str, width: int, stem: Path) -> int:
    """A dispute as the demo's person files it (its statement, check your answers, the confirmation), and the
    reviewer's case page for it: pictures of each step in English, of the last in Chinese. It files a real
    dispute in the store, as the person would."""
    made = 0
    if role == "subject":
        page.goto("/me?lang=en")
        page.get_by_role("link", name="Dispute this record").first.click()
        page.fill("#statement", "The judgment was paid in full before this record was sent; the court has the receipt.")
        picture(page, width, stem.with_name(f"{stem.name}-statement-en.png"))
        page.get_by_role("button", name="Continue").click()
        picture(page, width, stem.with_name(f"{stem.name}-check-en.png"))
        page.get_by_role("button", name="Send the dispute").click()
        picture(page, width, stem.with_name(f"{stem.name}-sent-en.png"))
        page.goto(page.url.split("?")[0] + "?lang=zh")
        picture(page, width, stem.with_name(f"{stem.name}-sent-zh.png"))
        made = 4
    elif role == "reviewer":
        page.goto("/review?lang=en")
        if page.get_by_role("button", name="Take the next one").count():
            page.get_by_role("button", name="Take the next one").click()
            picture(page, width, stem.with_name(f"{stem.name}-en.png"))
            page.goto(page.url.split("?")[0] + "?lang=zh")
            picture(page, width, stem.with_name(f"{stem.name}-zh.png"))
            made = 2
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="sqlite:///out/credo.db", help="The demo's store.")
    parser.add_argument("--demo-out", type=Path, default=Path("out"), help="The demo's output folder.")
    parser.add_argument("--out", type=Path, default=Path("docs/web"), help="Where the pictures go.")
    args = parser.parse_args()
    signed = codes(args.db, args.demo_out)
    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = serve(args.db, port)
    made = 0
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
            for role in dict.fromkeys(who for who, _, _ in PAGES):
                width = PHONE if role in ("public", "subject") else DESK
                context = browser.new_context(
                    base_url=f"http://127.0.0.1:{port}",
                    viewport={"width": width, "height": 800},
                    java_script_enabled=False,
                )
                page = context.new_page()
                if role != "public":
                    sign_in(page, signed[role])
                for who, path, name in PAGES:
                    if who != role:
                        continue
                    if path == JOURNEY:
                        made += journey(page, role, width, args.out / name)
                        continue
                    for lang in ("en", "zh"):
                        answer = page.goto(f"{path}?lang={lang}")
                        if answer is None or answer.status != 200:
                            print(f"skipped {path} ({lang}): {answer.status if answer else 'no answer'}")
                            continue
                        picture(page, width, args.out / f"{name}-{lang}.png")
                        made += 1
                context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"{made} pictures in {args.out}")


if __name__ == "__main__":
    main()

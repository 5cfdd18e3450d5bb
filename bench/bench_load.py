"""Load benchmark of the Telegram bot: N simulated users asking at once.

The real bot (``bot.telegram.build_application``, real Engine, AIORateLimiter, threads for
the engine) polls the fake Bot API server of the tests (``tests/fake_telegram.py``, real
HTTP on 127.0.0.1 with real long polling). Each simulated user has a private chat and
asks ``--per-user`` questions one after the other (a closed loop: the next question is
sent when the previous answer arrived, after ``--think`` seconds). Questions come from
``bench/data/questions.jsonl`` (hand-written questions about the seed article and the
Lee corpus), spread over the users.

Reported:

* answers/s over the whole run (first question sent → last answer received);
* reply latency (question pushed to the fake server → the bot's ``sendMessage`` arrives):
  p50 / p95 / max; and the typing indicator's latency (→ ``sendChatAction``), which
  measures how quickly the event loop reacts while the engine works in threads;
* the engine alone, one question at a time in one worker thread (``Engine.ask`` on the
  same questions, called the way the bot calls it): a first pass
  (cold passage caches) and a timed warm pass — the bound the bot's throughput is
  measured against (the load runs warm, after both passes);
* correctness: every update delivered exactly once by getUpdates, every question
  answered exactly once (no update lost, none answered twice), no failed API call.

The fake server and the simulated users run in the bot's process and event loop, so
their overhead is counted against the bot: the numbers are a lower bound. The flood
limit is Telegram's 30 messages/s unless ``--overall-rate`` says otherwise (0: off).

Corpus: ``--corpus lee`` (default: the seed article + the 50 Lee articles) or
``--corpus seeds``; the store is built once under ``bench/out/load-store-<corpus>``.

Run:
    .venv/bin/python bench/bench_load.py                      # 50 users × 4 questions
    .venv/bin/python bench/bench_load.py --users 50 --per-user 2 --corpus seeds --json bench/out/load.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ.setdefault("no_proxy", "127.0.0.1,localhost")

from tests.fake_telegram import Call, FakeTelegram  # noqa: E402

QUESTIONS = bc.BENCH_DIR / "data" / "questions.jsonl"
LEE = bc.BENCH_DIR / "data" / "lee.jsonl"
SEEDS = bc.ROOT / "seeds"
FIRST_CHAT = 100_000


def open_engine(corpus: str):
    """The answer engine over the chosen corpus (store built once, then reused)."""
    from bot.answer import Engine
    from bot.settings import BotSettings
    from index.settings import Settings

    data = bc.OUT / f"load-store-{corpus}"
    engine = Engine.open(BotSettings(index=Settings(data_dir=data), seeds_dir=SEEDS))
    if not engine.stats().articles:
        targets = [str(SEEDS)] + ([str(LEE)] if corpus == "lee" else [])
        bc.eprint(f"building {data} from {', '.join(targets)} …")
        bc.eprint(engine.ingest(targets).summary())
    return engine


def load_questions(corpus: str) -> list[str]:
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    if corpus == "seeds":
        rows = [r for r in rows if (r.get("article_id") or "").startswith("000_")] or rows
    return [r["question"] for r in rows]


async def run(args: argparse.Namespace) -> dict:
    from bot.settings import BotSettings
    from bot.telegram import FloodLimiter, build_application

    engine = open_engine(args.corpus)
    questions = load_questions(args.corpus)
    rng = random.Random(args.seed)
    rng.shuffle(questions)

    used = list(dict.fromkeys(questions[k % len(questions)] for k in range(args.users * args.per_user)))
    # The baseline calls the engine one question at a time from one worker thread, as the
    # bot does (asyncio.to_thread). From the main thread, torch's 2 intra-op threads make a
    # one-query encode several times slower on this kind of machine, which would flatter the bot.
    with ThreadPoolExecutor(1) as worker:
        worker.submit(engine.ask, used[0]).result()  # load the model's lazy parts
        started = time.perf_counter()
        for q in used:  # every question once: fills the passage caches, as a running bot has
            worker.submit(engine.ask, q).result()
        cold_s = (time.perf_counter() - started) / len(used)
        sample = used[: args.baseline]
        started = time.perf_counter()
        for q in sample:
            worker.submit(engine.ask, q).result()
        baseline_s = (time.perf_counter() - started) / max(1, len(sample))

    async with FakeTelegram() as fake:
        settings = BotSettings(index=engine.settings.index, telegram_token=fake.token, api_base_url=fake.base_url)
        limiter = FloodLimiter(overall_max_rate=args.overall_rate, max_retries=3)
        app = build_application(settings, engine, rate_limiter=limiter)
        await app.initialize()
        await app.post_init(app)
        await app.start()
        await app.updater.start_polling(timeout=10, poll_interval=0)

        answers: dict[int, list[Call]] = defaultdict(list)
        typing: dict[int, list[Call]] = defaultdict(list)
        waiting: dict[int, asyncio.Future] = {}
        typing_waiting: dict[int, asyncio.Future] = {}

        def on_call(call: Call) -> None:
            chat = call.params.get("chat_id")
            if call.status != 200 or not isinstance(chat, int):
                return
            if call.method == "sendMessage":
                answers[chat].append(call)
                fut = waiting.pop(chat, None)
            elif call.method == "sendChatAction":
                typing[chat].append(call)
                fut = typing_waiting.pop(chat, None)
            else:
                return
            if fut is not None and not fut.done():
                fut.set_result(call)

        fake.subscribe(on_call)
        loop = asyncio.get_running_loop()
        latencies: list[float] = []
        typing_latencies: list[float] = []

        async def user(i: int) -> None:
            chat = FIRST_CHAT + i
            await asyncio.sleep(rng.random() * args.ramp)
            for k in range(args.per_user):
                question = questions[(i * args.per_user + k) % len(questions)]
                answer_fut = waiting[chat] = loop.create_future()
                typing_fut = typing_waiting[chat] = loop.create_future()
                t0 = time.monotonic()
                fake.user_message(question, user_id=chat)
                answer = await asyncio.wait_for(answer_fut, args.timeout)
                latencies.append(answer.at - t0)
                if typing_fut.done():
                    typing_latencies.append(typing_fut.result().at - t0)
                typing_waiting.pop(chat, None)
                if args.think:
                    await asyncio.sleep(rng.random() * 2 * args.think)

        t_start = time.monotonic()
        await asyncio.gather(*(user(i) for i in range(args.users)))
        wall = time.monotonic() - t_start
        await fake.settle(quiet=1.0, timeout=30)
        await app.updater.stop()
        await app.stop()
        await app.shutdown()

        expected = args.users * args.per_user
        per_chat = Counter({chat: len(calls) for chat, calls in answers.items()})
        delivered = [fake.deliveries.get(u, 0) for u in range(1, fake.pushed + 1)]
        failed = Counter(c.method for c in fake.calls if c.status != 200)
        result = {
            "users": args.users,
            "overall_rate_limit": args.overall_rate,
            "questions_per_user": args.per_user,
            "corpus": args.corpus,
            "articles": engine.stats().articles,
            "answers": sum(per_chat.values()),
            "expected": expected,
            "wall_s": wall,
            "answers_per_s": sum(per_chat.values()) / wall,
            "reply_latency": bc.latency_summary_ms(latencies) | {"max_ms": max(latencies) * 1000},
            "typing_latency": bc.latency_summary_ms(typing_latencies),
            "engine_alone_cold_answers_per_s": 1 / cold_s if cold_s else float("nan"),
            "distinct_questions": len(used),
            "engine_alone_s_per_question": baseline_s,
            "engine_alone_answers_per_s": 1 / baseline_s if baseline_s else float("nan"),
            "updates_pushed": fake.pushed,
            "updates_lost": sum(1 for d in delivered if d == 0),
            "updates_delivered_twice": sum(1 for d in delivered if d > 1),
            "chats_answered_twice_or_more": sum(1 for c in range(FIRST_CHAT, FIRST_CHAT + args.users) if per_chat[c] > args.per_user),
            "chats_missing_answers": sum(1 for c in range(FIRST_CHAT, FIRST_CHAT + args.users) if per_chat[c] < args.per_user),
            "failed_calls": dict(failed),
            "unknown_methods": list(fake.unknown),
            "aborted_requests": fake.aborted,
        }
    engine.close()
    return result


def report(result: dict, hw: dict) -> str:
    r, t = result["reply_latency"], result["typing_latency"]
    ok = (
        result["answers"] == result["expected"] and not result["updates_lost"] and not result["updates_delivered_twice"]
        and not result["chats_answered_twice_or_more"] and not result["chats_missing_answers"] and not result["failed_calls"]
    )
    lines = [
        bc.header_block(
            "Telegram bot under load (fake Bot API server, real PTB + Engine)", hw,
            f"{result['users']} users × {result['questions_per_user']} questions, closed loop",
            [
                f"corpus: {result['corpus']} ({result['articles']} article{'s' if result['articles'] != 1 else ''})",
                "flood limit: " + (f"{bc.fmt(result['overall_rate_limit'])} messages/s (Telegram's)" if result["overall_rate_limit"] else "off"),
            ],
        ),
        bc.md_table(
            ["answers", "wall s", "answers/s", "reply p50 ms", "reply p95 ms", "reply max ms", "typing p50 ms", "typing p95 ms"],
            [[result["answers"], result["wall_s"], result["answers_per_s"], r["p50_ms"], r["p95_ms"], r["max_ms"], t["p50_ms"], t["p95_ms"]]],
        ),
        "",
        f"Engine alone, one question at a time in one worker thread, same questions: "
        f"{bc.fmt(result['engine_alone_answers_per_s'])} answers/s warm "
        f"({result['distinct_questions']} distinct questions; first pass with cold passage caches "
        f"{bc.fmt(result['engine_alone_cold_answers_per_s'])} answers/s). The load runs after both passes.",
        "",
        bc.md_table(
            ["updates pushed", "lost", "delivered twice", "chats answered twice", "chats missing answers", "failed API calls", "check"],
            [[result["updates_pushed"], result["updates_lost"], result["updates_delivered_twice"], result["chats_answered_twice_or_more"], result["chats_missing_answers"], sum(result["failed_calls"].values()), "OK" if ok else "FAILED"]],
        ),
    ]
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=50, help="simulated users (default 50)")
    p.add_argument("--per-user", type=int, default=4, help="questions each user asks (default 4)")
    p.add_argument("--corpus", choices=["lee", "seeds"], default="lee", help="seed article + Lee articles, or the seed only")
    p.add_argument("--think", type=float, default=0.0, help="mean pause between a user's questions, seconds")
    p.add_argument("--ramp", type=float, default=1.0, help="users start within this many seconds")
    p.add_argument("--baseline", type=int, default=20, help="questions timed on the engine alone")
    p.add_argument("--timeout", type=float, default=600, help="seconds to wait for one answer")
    p.add_argument("--overall-rate", type=float, default=30, help="flood limit, messages/s (Telegram: 30; 0: none)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", help="also write the results as JSON here")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    hw = bc.hardware()
    result = asyncio.run(run(args))
    print(report(result, hw))
    bc.save_json(args.json, {"hardware": hw, **result})
    ok = result["answers"] == result["expected"] and not (
        result["updates_lost"] or result["updates_delivered_twice"] or result["chats_answered_twice_or_more"]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""``souverain chat "question"``: one question to a running server, streamed to the terminal."""

from __future__ import annotations

import json
import os
import sys

import httpx
import typer


def chat(
    question: str = typer.Argument(..., help="The question to ask."),
    model: str = typer.Option("chat-default", help="Model alias."),
    url: str = typer.Option("http://127.0.0.1:8000", help="Base URL of a running souverain server."),
    api_key: str = typer.Option("", envvar="SOUVERAIN_API_KEY", help="Bearer key, if the server needs one."),
    max_tokens: int = typer.Option(512, help="Most tokens to generate."),
) -> None:
    """Ask one question and stream the answer."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    body = {
        "model": model,
        "messages": [{"role": "user", "content": question}],
        "stream": True,
        "max_tokens": max_tokens,
    }
    try:
        with httpx.stream(
            "POST",
            f"{url.rstrip('/')}/v1/chat/completions",
            json=body,
            headers=headers,
            timeout=httpx.Timeout(10.0, read=300.0),
        ) as response:
            if response.status_code != 200:
                response.read()
                message = response.json().get("error", {}).get("message", response.text)
                print(f"error {response.status_code}: {message}", file=sys.stderr)
                raise typer.Exit(1)
            _print_stream(response.iter_lines())
    except httpx.HTTPError as exc:
        print(f"cannot reach {url}: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None


def _print_stream(lines: object) -> None:
    for line in lines:  # type: ignore[attr-defined]
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        data = json.loads(line[6:])
        if "error" in data:
            print(f"\nerror: {data['error'].get('message')}", file=sys.stderr)
            raise typer.Exit(1)
        for choice in data.get("choices", []):
            sys.stdout.write(choice.get("delta", {}).get("content") or "")
            sys.stdout.flush()
    sys.stdout.write(os.linesep)

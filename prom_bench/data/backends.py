"""Translation backends: Google Cloud Translation (v2 REST), a local transformers MT model, a file.

A backend has an ``id`` (part of every cache key, so a different model never reuses another's output),
a ``batch_size`` and ``translate(texts, source_lang, target_lang) -> list[str]``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from prom_bench.errors import UserError, unknown
from prom_bench.languages import get

GOOGLE_ENDPOINT = "https://translation.googleapis.com/language/translate/v2"
GOOGLE_KEY_ENV = "GOOGLE_TRANSLATE_API_KEY"
DEFAULT_MT_MODEL = "facebook/nllb-200-distilled-600M"
BACKENDS = ("google", "hf", "file")
TRANSLATE_OPTIONS = ("model", "file", "endpoint", "key_env", "batch_size", "device")  # make_backend's options


class GoogleTranslateBackend:
    """Google Cloud Translation v2 over REST: batched, retried with backoff, key from the environment.

    The key travels in the ``X-Goog-Api-Key`` header, never in a URL, a log line, an error or a file.
    ``endpoint`` (or ``PROM_BENCH_GOOGLE_ENDPOINT``) points elsewhere for tests.
    """

    # v2 accepts up to 128 segments per request; 30k characters keeps requests well under its payload limit.
    MAX_SEGMENTS, MAX_CHARS = 128, 30_000
    RETRY_STATUS = {429, 500, 502, 503, 504}
    QUOTA_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "dailyLimitExceeded", "quotaExceeded"}

    def __init__(
        self,
        key_env: str = GOOGLE_KEY_ENV,
        endpoint: str | None = None,
        batch_size: int = 64,
        max_retries: int = 5,
        backoff_s: float = 1.0,
        timeout_s: float = 60.0,
    ):
        self._key = os.environ.get(key_env)
        if not self._key:
            raise UserError(
                f"the Google backend needs an API key in the environment variable {key_env} "
                "(Cloud console > APIs & Services > Credentials); it is read from there only, never stored"
            )
        self.endpoint = endpoint or os.environ.get("PROM_BENCH_GOOGLE_ENDPOINT") or GOOGLE_ENDPOINT
        self.batch_size = min(batch_size, self.MAX_SEGMENTS)
        self.max_retries, self.backoff_s, self.timeout_s = max_retries, backoff_s, timeout_s
        self.id = "google-translate-v2"

    def __repr__(self) -> str:  # never show the key
        return f"GoogleTranslateBackend(endpoint={self.endpoint!r})"

    def translate(self, texts: list[str], source_lang: str, target_lang: str) -> list[str]:
        out: list[str] = []
        batch: list[str] = []
        for text in texts:
            if batch and (len(batch) >= self.batch_size or sum(map(len, batch)) + len(text) > self.MAX_CHARS):
                out.extend(self._request(batch, source_lang, target_lang))
                batch = []
            batch.append(text)
        if batch:
            out.extend(self._request(batch, source_lang, target_lang))
        return out

    def _request(self, texts: list[str], source_lang: str, target_lang: str) -> list[str]:
        body = json.dumps({"q": texts, "source": source_lang, "target": target_lang, "format": "text"}).encode()
        request = urllib.request.Request(
            self.endpoint,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "X-Goog-Api-Key": self._key},
        )
        for attempt in range(self.max_retries + 1):
            try:
                with _KEY_SAFE_OPENER.open(request, timeout=self.timeout_s) as response:
                    payload = json.loads(response.read().decode("utf-8"))
                translations = [item["translatedText"] for item in payload["data"]["translations"]]
                if len(translations) != len(texts):
                    raise UserError(f"Google returned {len(translations)} translations for {len(texts)} segments")
                # v2 may return HTML entities even with format=text; a source that had '&' itself is left alone.
                return [t if "&" in source else _html_unescape(t) for source, t in zip(texts, translations)]
            except urllib.error.HTTPError as exc:
                reason, message = _google_error(exc)
                if exc.code == 403 and reason in self.QUOTA_REASONS and reason != "dailyLimitExceeded":
                    retry = True  # per-minute limits clear by themselves
                elif exc.code in self.RETRY_STATUS:
                    retry = True
                else:
                    raise _explain(exc.code, reason, message) from None
                if not retry or attempt == self.max_retries:
                    raise _explain(exc.code, reason, message) from None
            except urllib.error.URLError as exc:
                if attempt == self.max_retries:
                    raise UserError(f"cannot reach the translation endpoint {self.endpoint}: {exc.reason}") from None
            # Exponential backoff with jitter: 1, 2, 4, 8 ... seconds (times 0.5-1.5).
            time.sleep(self.backoff_s * (2**attempt) * (0.5 + random.random()))
        raise AssertionError("unreachable")


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to the configured scheme, host and port: the API key header travels with it.

    urllib copies every header (``X-Goog-Api-Key`` included) onto the redirected request, to whatever host
    the ``Location`` names; a redirect elsewhere is refused with one line instead.
    """

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        old, new = urllib.parse.urlsplit(req.full_url), urllib.parse.urlsplit(newurl)
        if (old.scheme, old.hostname, old.port) != (new.scheme, new.hostname, new.port):
            raise UserError(
                f"the translation endpoint {old.scheme}://{old.netloc} redirected (HTTP {code}) to another host, "
                f"{new.scheme}://{new.netloc}; the API key is sent only to the configured endpoint: give the final "
                "URL as --endpoint if you trust it"
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_KEY_SAFE_OPENER = urllib.request.build_opener(_SameOriginRedirects())


def _google_error(exc: urllib.error.HTTPError) -> tuple[str, str]:
    try:
        error = json.loads(exc.read().decode("utf-8"))["error"]
        reason = (error.get("errors") or [{}])[0].get("reason", "") or error.get("status", "")
        return reason, error.get("message", "")
    except Exception:
        return "", ""


def _explain(code: int, reason: str, message: str) -> UserError:
    done = "translations already received are cached: rerunning the same command continues where this one stopped"
    if reason in GoogleTranslateBackend.QUOTA_REASONS or code == 429:
        return UserError(
            f"Google Translation quota exceeded ({reason or code}): wait for the quota to reset or raise it "
            f"in the Cloud console (IAM & Admin > Quotas, Cloud Translation API); {done}"
        )
    if code in (400, 401, 403) and ("key" in reason.lower() or "key" in message.lower() or code == 401):
        return UserError(
            f"Google rejected the API key ({reason or code}): check the key and that the Cloud Translation API "
            f"is enabled for its project; {done}"
        )
    return UserError(f"Google Translation failed with HTTP {code} {reason}: {message[:200]}; {done}")


def _html_unescape(text: str) -> str:
    import html

    return html.unescape(text)  # v2 escapes &, <, > and quotes even with format=text


class TransformersBackend:
    """A local seq2seq MT model through transformers: NLLB-200 / M2M100 (language codes), or a pair model (Marian).

    NLLB takes FLORES-200 codes (``tha_Thai``) as source/target tokens, M2M100 ISO codes (``th``); a
    model without language tokens (Marian ``opus-mt-en-xx``) translates the one pair it was trained on.
    """

    def __init__(
        self,
        model: str = DEFAULT_MT_MODEL,
        batch_size: int = 8,
        max_new_tokens: int = 256,
        device: str | None = None,
        model_obj=None,
        tokenizer=None,
    ):
        import torch
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        self.tokenizer = tokenizer or AutoTokenizer.from_pretrained(model)
        self.model = model_obj or AutoModelForSeq2SeqLM.from_pretrained(model)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device).eval()
        self.batch_size, self.max_new_tokens = batch_size, max_new_tokens
        revision = getattr(self.model.config, "_commit_hash", None) or ""
        self.id = f"hf:{model}@{revision}" if revision else f"hf:{model}"

    def _language_token(self, lang: str) -> str | None:
        language = get(lang)
        vocab = self.tokenizer.get_vocab()
        for token in (language.flores, f"__{lang}__"):  # NLLB, then M2M100
            if token in vocab:
                return token
        return None

    def translate(self, texts: list[str], source_lang: str, target_lang: str) -> list[str]:
        import torch

        source_token, target_token = self._language_token(source_lang), self._language_token(target_lang)
        if hasattr(self.tokenizer, "src_lang") and source_token:
            # NLLB's tokenizer takes the FLORES code, M2M100's the ISO code it wraps as __xx__.
            self.tokenizer.src_lang = source_token if source_token == get(source_lang).flores else source_lang
        generate_kwargs = {"max_new_tokens": self.max_new_tokens, "num_beams": 1, "do_sample": False}
        if target_token:
            generate_kwargs["forced_bos_token_id"] = self.tokenizer.convert_tokens_to_ids(target_token)
        out = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            inputs = self.tokenizer(batch, return_tensors="pt", padding=True, truncation=True).to(self.device)
            with torch.no_grad():
                generated = self.model.generate(**inputs, **generate_kwargs)  # shape: [b, t]
            out.extend(t.strip() for t in self.tokenizer.batch_decode(generated, skip_special_tokens=True))
        return out


class FileBackend:
    """Translations looked up in a file: JSON Lines ``{"source", "target"}`` or TSV ``source<TAB>target``.

    For translations made elsewhere (a vendor, a human) that should go through the same protection,
    caching and validation as machine output. A segment missing from the file is an error.
    """

    def __init__(self, file: str | Path, batch_size: int = 256):
        from prom_bench.data.files import read_text

        path = Path(file)
        text = read_text(path)
        self.table: dict[str, str] = {}
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            if path.suffix == ".jsonl":
                try:
                    entry = json.loads(line)
                    source, target = entry["source"], entry["target"]
                except (json.JSONDecodeError, KeyError, TypeError):
                    raise UserError(f"{path}:{number}: expected a JSON object with 'source' and 'target'") from None
            else:
                cells = line.split("\t")
                if len(cells) != 2:
                    raise UserError(
                        f"{path}:{number}: expected 2 tab-separated columns (source, target), found {len(cells)}"
                    )
                source, target = cells
            if not str(target).strip():
                raise UserError(f"{path}:{number}: empty translation")
            self.table[source] = target
        self.path, self.batch_size = path, batch_size
        self.id = f"file:{hashlib.sha256(text.encode()).hexdigest()[:16]}"

    def translate(self, texts: list[str], source_lang: str, target_lang: str) -> list[str]:
        missing = [t for t in texts if t not in self.table]
        if missing:
            raise UserError(
                f"{self.path}: {len(missing)} segments have no translation in the file, e.g. '{missing[0][:60]}'"
            )
        return [self.table[t] for t in texts]


def make_backend(name: str, **options) -> GoogleTranslateBackend | TransformersBackend | FileBackend:
    """``google`` (options: key_env, endpoint, batch_size), ``hf`` (model, batch_size, device), ``file`` (file)."""
    options = {k: v for k, v in options.items() if v is not None}
    if name == "google":
        return GoogleTranslateBackend(**{k: options[k] for k in ("key_env", "endpoint", "batch_size") if k in options})
    if name == "hf":
        return TransformersBackend(**{k: options[k] for k in ("model", "batch_size", "device") if k in options})
    if name == "file":
        if "file" not in options:
            raise UserError("the file backend needs --file PATH (JSON Lines source/target, or source<TAB>target)")
        return FileBackend(options["file"])
    raise unknown("translation backend", name, BACKENDS)

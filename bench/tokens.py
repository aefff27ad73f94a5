"""TokenCounter vs raw tiktoken on the demo corpus (target: >= 0.9x raw encode_ordinary_batch)."""

from __future__ import annotations

from _common import best_of, best_of_interleaved, check, finish

from litelong_hf.corpus import CorpusConfig, load_documents
from litelong_hf.tokens import TokenCounter


def main() -> None:
    texts = [d.text for d in load_documents(CorpusConfig())]
    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    counter = TokenCounter.get()
    encoding = counter._backend.encoding  # type: ignore[attr-defined]  # the raw tiktoken.Encoding
    timed = best_of_interleaved(
        {"raw": lambda: encoding.encode_ordinary_batch(texts), "ours": lambda: counter.encode_batch(texts)}
    )
    (raw_s, raw_ids), (ours_s, ours_ids) = timed["raw"], timed["ours"]
    assert raw_ids == ours_ids
    n_tokens = sum(len(i) for i in ours_ids)
    slow = TokenCounter("llama-3", prefer_tiktoken=False)
    tok_s, _ = best_of(lambda: slow.encode_batch(texts), repeat=1)
    print(f"demo corpus: {len(texts):,} documents, {megabytes:.1f} MB, {n_tokens:,} Llama-3 tokens")
    print(
        f"  raw tiktoken encode_ordinary_batch: {raw_s:.3f} s  {megabytes / raw_s:6.1f} MB/s  {n_tokens / raw_s / 1e6:.2f} M tok/s"
    )
    print(
        f"  TokenCounter.encode_batch:          {ours_s:.3f} s  {megabytes / ours_s:6.1f} MB/s  {n_tokens / ours_s / 1e6:.2f} M tok/s"
    )
    print(
        f"  tokenizers encode_batch_fast:       {tok_s:.3f} s  {megabytes / tok_s:6.1f} MB/s  {n_tokens / tok_s / 1e6:.2f} M tok/s"
    )
    check("TokenCounter / raw tiktoken throughput", raw_s / ours_s, 0.9)
    finish()


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# GPU experiment of issue 13 (never runs in CI): SmolLM2-135M-Instruct (trained at 8K) extended to 32K with
# the `smollm2-32k` schedule (ABF θ 1e5 -> 1e6) on EQUAL token budgets of random-concat, litelong and
# nextlong rows (all made in SmolLM2's own tokens), each model scored with `litelong-hf eval ruler` at
# 8K/16K/32K next to the untrained model. Prints a markdown table and writes it to $WORK/table.md; paste it
# into docs/finetune.md.
#
#   bash bench/train_gpu.sh                      # defaults below; about 1 GPU-hour on one H100/H200
#   BUDGET=2000000 ROWS=16 SAMPLES=2 bash bench/train_gpu.sh   # a smoke run of a few minutes
#
# Needs: a CUDA GPU, the package installed with the `train`, `local` and `eval` extras (`bash .ci/setup`),
# no internet. Re-running resumes: finished row sets, training stages and evaluations are reused.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
WORK=${WORK:-out/train-gpu}
BUDGET=${BUDGET:-25000000}           # training tokens per data source (the schedule's max_tokens)
ROWS=${ROWS:-64}                     # rows of 32K generated per source (repeated in epochs up to BUDGET)
LENGTH=${LENGTH:-32768}
GRAD_ACCUM=${GRAD_ACCUM:-8}          # 8 rows x 32K = 256K tokens per optimizer step
SAMPLES=${SAMPLES:-4}                # RULER samples per task x length x depth
EVAL_LENGTHS=${EVAL_LENGTHS:-8k,16k,32k}
SOURCES=${SOURCES:-"random-concat litelong nextlong"}

llh() { "$PY" -c 'from litelong_hf.cli import main; main()' "$@"; }

"$PY" - <<'EOF' || { echo "no CUDA GPU: this benchmark only runs on a GPU machine" >&2; exit 2; }
import torch, sys
sys.exit(0 if torch.cuda.is_available() else 1)
EOF
"$PY" -c 'import torch; print("GPU:", torch.cuda.get_device_name(0), "bf16:", torch.cuda.is_bf16_supported())'
mkdir -p "$WORK"

preset_of() {
  case "$1" in
    random-concat) echo random-concat-64k ;;
    litelong) echo litelong-64k ;;
    nextlong) echo nextlong-64k ;;
    *) echo "unknown source $1" >&2; exit 2 ;;
  esac
}

# 1. rows: the 64K presets cut to 32K, in SmolLM2 tokens (the embedded SmolLM2 also runs LiteLong's debate)
for source in $SOURCES; do
  rows="$WORK/rows/$source"
  if [ ! -f "$rows/report.json" ]; then
    echo "== rows: $source"
    llh generate "$(preset_of "$source")" --target-tokens "$LENGTH" --tokenizer smollm2 \
      --num-rows "$ROWS" --out "$rows" --overwrite
  fi
done

# 2. training: same schedule, same token budget, same seed for every source
for source in $SOURCES; do
  run="$WORK/runs/$source"
  if [ ! -f "$run/training_report.json" ]; then
    echo "== train: $source"
    llh train --schedule smollm2-32k --data "$WORK/rows/$source" --model smollm2 --out "$run" \
      --max-tokens "$BUDGET" --gradient-accumulation-steps "$GRAD_ACCUM" --save-steps 20 --seed 0
  fi
done

# 3. evaluation: the untrained model (converted once by `train`) and each trained one
base=$("$PY" -c 'from litelong_hf.finetune.model import resolve_model; print(resolve_model("smollm2").weights_dir())')
declare -A MODELS=([base]="$base")
for source in $SOURCES; do MODELS[$source]="$WORK/runs/$source/model"; done
for name in base $SOURCES; do
  if [ ! -f "$WORK/eval/$name/results.json" ]; then
    echo "== eval: $name"
    llh eval ruler --model "${MODELS[$name]}" --out "$WORK/eval/$name" \
      --lengths "$EVAL_LENGTHS" --samples "$SAMPLES" --allow-longer
  fi
done

# 4. the table
"$PY" - "$WORK" base $SOURCES <<'EOF' | tee "$WORK/table.md"
import json, sys
from pathlib import Path

work, names = Path(sys.argv[1]), sys.argv[2:]
results = {n: json.loads((work / "eval" / n / "results.json").read_text()) for n in names}
lengths = sorted({int(k) for r in results.values() for k in r["average"]}, key=int)
print("| model | " + " | ".join(f"{n // 1024}K" for n in lengths) + " | overall | train tokens | final loss |")
print("|---" * (len(lengths) + 4) + "|")
for name in names:
    r = results[name]
    cells = [f"{float(r['average'].get(str(n), r['average'].get(n, float('nan')))):.1f}" for n in lengths]
    report = work / "runs" / name / "training_report.json"
    if report.is_file():
        t = json.loads(report.read_text())
        extra = [f"{t['tokens_seen']:,}", f"{t['stages'][-1]['final_loss']:.3f}"]
    else:
        extra = ["0 (untrained)", "-"]
    print(f"| {name} | " + " | ".join(cells) + f" | {float(r['overall']):.1f} | " + " | ".join(extra) + " |")
EOF

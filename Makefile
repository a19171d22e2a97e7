# closekit: see README.md. Every target installs what it needs (idempotent, cached in .kit/).
KIT := node bin/kit.mjs
NPM_STAMP := node_modules/.package-lock.json

.PHONY: setup doctor repro verify report test bench typecheck clean

# `npm install` against the committed lock, not `npm ci`: npm 11 leaves other platforms'
# optional packages (rollup's) out of the lock and then `npm ci` refuses it as out of sync.
# With the lock present, install keeps every locked version and leaves the lock unchanged.
$(NPM_STAMP): package.json package-lock.json
	npm install --no-audit --no-fund
	@touch $(NPM_STAMP)

setup: $(NPM_STAMP)
	$(KIT) setup

doctor: $(NPM_STAMP)
	$(KIT) doctor

# PY_WORKER=container: the Python worker in the kit's podman image instead of the venv.
repro: setup
	$(KIT) repro $(if $(PY_WORKER),--py-worker $(PY_WORKER))

# A maintainer's own fix: make verify JS_FIX=<patch|checkout|url#ref|version> PY_FIX=<...>
verify: setup
	$(KIT) verify $(if $(JS_FIX),--js-fix "$(JS_FIX)") $(if $(PY_FIX),--py-fix "$(PY_FIX)") $(if $(PY_WORKER),--py-worker $(PY_WORKER))

report: $(NPM_STAMP)
	$(KIT) report

bench: setup
	$(KIT) bench

typecheck: $(NPM_STAMP)
	npx tsc --noEmit

# Order: cheap static checks first, then the Python shim's own tests (pytest, with the
# venv the worker runs on), then every vitest suite (unit, then the real stack).
test: setup
	npx tsc --noEmit
	PY="$$($(KIT) where py)" && "$$PY" -m ruff check python-shim && cd python-shim && "$$PY" -m pytest -q tests
	npx vitest run

clean:
	rm -rf reports

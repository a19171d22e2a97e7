# closekit: see README.md. Every target installs what it needs (idempotent, cached in .kit/).
KIT := node bin/kit.mjs
NPM_STAMP := node_modules/.package-lock.json

.PHONY: setup doctor repro verify report test bench typecheck clean

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund

setup: $(NPM_STAMP)
	$(KIT) setup

doctor: $(NPM_STAMP)
	$(KIT) doctor

repro: setup
	$(KIT) repro

verify: setup
	$(KIT) verify

report: $(NPM_STAMP)
	$(KIT) report

bench: setup
	$(KIT) bench

typecheck: $(NPM_STAMP)
	npx tsc --noEmit

test: setup
	npx tsc --noEmit
	npx vitest run

clean:
	rm -rf reports

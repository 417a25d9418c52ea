# The two commands a new user needs (see README.md).
.PHONY: run test build release relay docs fmt lint bench bench-routing help

run: ## Install what is missing, build, and run the whole local Linka (Ctrl-C stops it)
	@bash scripts/run.sh

test: ## Install what is missing, start and stop the services, run every test
	@bash scripts/test.sh

build: ## Build every function and tool (debug)
	cargo build --workspace --bins

release: ## Build every function for deployment (arm64 bootstrap zips via cargo-lambda)
	@bash scripts/build-release.sh

relay: ## The on-prem CTI relay as one static binary (cti/relay/dist/ has its unit and config)
	@bash scripts/build-relay.sh

docs: ## The Czech user and technical documentation as PDF (target/docs/)
	@bash scripts/bootstrap.sh --browser
	cd web && npm run --silent docs -- --check

fmt: ## Format the Rust code
	cargo fmt --all

lint: ## Lints that CI enforces
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --features system-tests/stack -- -D warnings
	.venv/bin/cfn-lint infra/template.yaml

bench: ## Cold start, warm latency, binary size and peak memory of every function
	@bash scripts/bench.sh

bench-routing: ## RouteRequest → RouteSelect through the local stack, functions built for release
	@bash scripts/bench-routing.sh

help:
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

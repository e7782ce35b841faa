# SslOrleans: self-supervised pretraining on Orleans + TorchSharp.
# Quick start on a fresh Debian/Ubuntu machine with the .NET 10 SDK:  make pretrain   and   make test

MINUTES ?= 12
STEPS ?=
WIDTH ?= 16
WORKERS ?= 2
BATCH ?= 256
SEED ?= 0
OUT ?= runs/byol-fashion-mnist-$(shell date +%Y%m%d-%H%M%S)
BUDGET := $(if $(STEPS),--steps $(STEPS),--minutes $(MINUTES))
SSLO := artifacts/bin/sslo

.PHONY: deps build pretrain bench-learn chaos test clean

deps:
	@build/deps.sh

# Publishes the CLI to artifacts/bin/sslo and the silo host to artifacts/silo (deploy/local/cluster.sh runs it).
build: deps
	dotnet publish client/SslOrleans.Cli -c Release -o artifacts/bin --nologo -v q
	dotnet publish silo/SslOrleans.Silo -c Release -o artifacts/silo --nologo -v q

# BYOL on Fashion-MNIST on the embedded cluster, ending with kNN top-1 of the trained and the initial backbone.
pretrain: build
	$(SSLO) pretrain --method byol --dataset fashion-mnist --width $(WIDTH) --workers $(WORKERS) \
	  --batch $(BATCH) $(BUDGET) --seed $(SEED) --out $(OUT)

# Every method for the same wall-clock budget (LEARN_MINUTES, default 15; BEiT first trains its tokenizer for 2 minutes),
# evaluated; the rows of METHODS go into the table of docs/benchmarks.md, other methods' rows stay.
METHODS ?= byol,simclr,barlow,rotnet,mae,beit
LEARN_MINUTES ?= 15
bench-learn: build
	$(SSLO) bench learn --minutes $(LEARN_MINUTES) --width $(WIDTH) --workers $(WORKERS) --batch $(BATCH) --seed $(SEED) --methods $(METHODS)

# Chaos on real processes (deploy/local/chaos.sh): BYOL on a local 4-silo cluster with checkpoints in Azurite, once
# undisturbed and once while KILLS silos are SIGKILLed at random steps, each replaced; the kills aim in turn at the
# silo of the run's coordinator, of a parameter shard and of a worker. Fails unless both runs train the same model
# and no sample is lost or doubled. STEPS per run (default 300), SEED the training seed, KILL_SEED the schedule's
# (default random, printed). The last stdout line is the JSON verdict.
KILLS ?= 10
KILL_SEED ?=
chaos: build
	@build/deps.sh --test
	KILLS=$(KILLS) CHAOS_STEPS=$(STEPS) CHAOS_SEED=$(SEED) CHAOS_KILL_SEED=$(KILL_SEED) deploy/local/chaos.sh

test:
	@build/deps.sh --test
	build/test.sh

clean:
	rm -rf artifacts runs
	dotnet clean SslOrleans.sln --nologo -v q

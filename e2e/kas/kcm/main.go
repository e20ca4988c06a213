// Command kube-controller-manager is the upstream kube-controller-manager from
// the same k8s.io/kubernetes module as kube-apiserver. The e2e harness runs
// only its endpoints/endpointslice/namespace/serviceaccount controllers, so
// Services get real Endpoints/EndpointSlices for the kwok pods.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}

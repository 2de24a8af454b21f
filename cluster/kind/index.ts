/** What a `--runtime kind` backend needs from kind. */
export { kind, KindFailed, INSTALL_HINT } from './cli.ts';
export { kindConfig, renderConfig, KIND_VERSION, NODE_IMAGE, type KindClusterConfig, type FrontendPorts, type PortMapping } from './config.ts';
export { kindConfigProblems } from './config-schema.ts';
export { clusterName, clusterNameProblem, getClusters, createCluster, deleteCluster, kubeconfig, configFile, kubeconfigFile, type Created } from './clusters.ts';
export { loadEach, loadImages, nodeImageReferences, fullReference, isContainerdStoreFailure, type LoadReport, type LoadedBy } from './load.ts';

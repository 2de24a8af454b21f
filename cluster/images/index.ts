export { buildImages, type BuiltImage, type BuildImagesOptions } from './build.ts';
export { resolveBaseImage, importHostNodeBase, hostNodeFiles, hostNodeRootfs, IMAGE_USER, UPSTREAM_BASE, HOST_BASE_REPO, type BaseImage } from './base.ts';
export { bundleService, type BundleResult } from './bundle.ts';
export { makeBuildContext, isSecretLooking, parseIgnore, type BuildContext } from './context.ts';
export { connectDocker, requireDocker, ensureDockerDaemon, pingDocker, noDaemonError, dockerSocketPath } from './docker.ts';
export { IMAGE_NAMES, imageSpec, allImageSpecs, type ImageSpec, type ImageName } from './specs.ts';
export { PROJECT_ROOT, LABEL_PREFIX, IMAGE_REPO_PREFIX, projectHash, stateDir } from './paths.ts';

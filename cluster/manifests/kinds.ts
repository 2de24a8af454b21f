/**
 * The kinds the manifests may hold: for each, its apiVersion, the Manifests list it lands in, the validator
 * kubernetes-models generated from Kubernetes' OpenAPI schema, and the model name @kubernetes/client-node gives it
 * (whose field lists tell the strict check which fields exist).
 */
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { Manifests, ManifestObject } from './types.ts';

/** The Manifests fields that hold objects, one per kind. */
export type ObjectLists = Pick<Manifests, 'deployments' | 'services' | 'serviceAccounts' | 'roles' | 'roleBindings' | 'configMaps' | 'secrets'>;

export interface KindInfo {
  apiVersion: ManifestObject['apiVersion'];
  list: keyof ObjectLists;
  /** Throws a ValidationError (ajv's errors in `errors`) when the object does not match the schema. */
  validate: (object: Record<string, unknown>) => void;
  /** The @kubernetes/client-node model, e.g. V1Deployment. */
  model: string;
}

interface ModelClass {
  new (data: never): { validate(): void };
}
const validator = (M: ModelClass) => (object: Record<string, unknown>) => new M(object as never).validate();

export const kinds: Readonly<Record<ManifestObject['kind'], KindInfo>> = {
  Deployment: { apiVersion: 'apps/v1', list: 'deployments', validate: validator(Deployment), model: 'V1Deployment' },
  Service: { apiVersion: 'v1', list: 'services', validate: validator(Service), model: 'V1Service' },
  ServiceAccount: { apiVersion: 'v1', list: 'serviceAccounts', validate: validator(ServiceAccount), model: 'V1ServiceAccount' },
  Role: { apiVersion: 'rbac.authorization.k8s.io/v1', list: 'roles', validate: validator(Role), model: 'V1Role' },
  RoleBinding: { apiVersion: 'rbac.authorization.k8s.io/v1', list: 'roleBindings', validate: validator(RoleBinding), model: 'V1RoleBinding' },
  ConfigMap: { apiVersion: 'v1', list: 'configMaps', validate: validator(ConfigMap), model: 'V1ConfigMap' },
  Secret: { apiVersion: 'v1', list: 'secrets', validate: validator(Secret), model: 'V1Secret' },
};

export const isKind = (kind: unknown): kind is ManifestObject['kind'] => typeof kind === 'string' && Object.hasOwn(kinds, kind);

export const supportedList = Object.entries(kinds).map(([k, v]) => `${k} (${v.apiVersion})`).join(', ');

/** The Services `dev` reaches from this machine on a Kubernetes runtime, by endpoint name. */
export const FORWARDS = [
  { name: 'frontend', service: 'frontend', port: 'http' },
  { name: 'users', service: 'users', port: 'http' },
  { name: 'mail', service: 'mailcatcher', port: 'http' },
] as const;

import { bool, int, url } from '@saas/kit';

export const frontendConfig = {
  usersUrl: url('USERS_URL', ['http', 'https'], { doc: 'the users service' }),
  uiServerUrl: url('UI_SERVER_URL', ['http', 'https'], { doc: 'the ui-server (pages and assets)' }),
  appMapperUrl: url('APP_MAPPER_URL', ['http', 'https'], { doc: 'the app-mapper (maps, probes, reports)' }),
  loginRateLimitPerMinute: int('LOGIN_RATE_LIMIT_PER_MINUTE', { min: 1, default: 20, doc: 'logins per client address per minute' }),
  trustProxy: bool('TRUST_PROXY', { default: false, doc: 'take the client address from X-Forwarded-For (only behind a trusted proxy)' }),
};

/** A mail as the mail capture (maildev) lists it: GET /email, GET /email/{id}. */
export interface Mail {
  id: string;
  subject?: string;
  from?: { address: string; name?: string }[];
  to?: { address: string; name?: string }[];
  date?: string;
  text?: string;
  html?: string;
}

async function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(url, { signal: signal ?? AbortSignal.timeout(5000), headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** Newest first. */
export async function listMails(base: string, signal?: AbortSignal): Promise<Mail[]> {
  const mails = await getJson<Mail[]>(`${base.replace(/\/$/, '')}/email`, signal);
  // maildev lists in arrival order and dates have whole seconds: reversed first, so a tie keeps newest first.
  return mails.slice().reverse().sort((a, b) => (Date.parse(b.date ?? '') || 0) - (Date.parse(a.date ?? '') || 0));
}

export function getMail(base: string, id: string, signal?: AbortSignal): Promise<Mail> {
  return getJson<Mail>(`${base.replace(/\/$/, '')}/email/${encodeURIComponent(id)}`, signal);
}

const decode = (s: string) => s.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'");

/** Every distinct http(s) link in a mail: the html's hrefs first, then URLs in the text. */
export function mailLinks(mail: Mail): string[] {
  const out: string[] = [];
  const add = (u: string) => {
    const url = decode(u).replace(/[).,;>\]]+$/, '');
    if (/^https?:\/\//.test(url) && !out.includes(url)) out.push(url);
  };
  for (const m of (mail.html ?? '').matchAll(/href\s*=\s*["']([^"']+)["']/gi)) add(m[1]!);
  for (const m of (mail.text ?? '').matchAll(/https?:\/\/[^\s"'<>]+/g)) add(m[0]);
  return out;
}

/** The body as plain lines: the text part, else the html with its tags dropped. */
export function mailBody(mail: Mail): string[] {
  const text =
    mail.text?.trim() ||
    decode(
      (mail.html ?? '')
        .replace(/<(script|style)[\s\S]*?<\/\1>/gi, '')
        .replace(/<br\s*\/?>|<\/p>|<\/div>|<\/h\d>|<\/li>/gi, '\n')
        .replace(/<[^>]+>/g, ''),
    ).trim();
  return text.split(/\r?\n/).map((l) => l.trimEnd());
}

export function addresses(list: Mail['to']): string {
  return (list ?? []).map((a) => a.address).join(', ');
}

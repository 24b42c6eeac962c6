import { describeError, log } from './log.ts';

export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  /** What the message is for, so a development outbox can be searched by it. */
  kind: 'verify-email' | 'password-reset' | 'task-reminder';
  /**
   * The same key sends the message once: the provider drops a second send with it (Resend keeps
   * keys 24 hours; the development outbox for as long as it runs). A sender that may retry after a
   * crash, such as the reminders' scheduled handler, relies on it for exactly-once delivery.
   */
  idempotencyKey?: string;
}

/** Sends mail. A failure throws; callers decide what a failure means (never a lost account). */
export interface EmailSender {
  send(message: EmailMessage): Promise<void>;
}

/**
 * Development and tests: messages go to the stand-ins' outbox (`GET /_control/outbox`), where a
 * developer or a test reads them. Nothing of the message is logged: it holds a live token.
 */
export function outboxEmail(outboxUrl: string): EmailSender {
  return {
    async send(message) {
      const { idempotencyKey, ...body } = message;
      const res = await fetch(outboxUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
        },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`outbox answered ${res.status}`);
    },
  };
}

/** Production: Resend's HTTP API (one POST per message). */
export function resendEmail(apiKey: string, from: string): EmailSender {
  return {
    async send(message) {
      const res = await fetch('https://api.resend.com/emails', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${apiKey}`,
          'content-type': 'application/json',
          ...(message.idempotencyKey ? { 'idempotency-key': message.idempotencyKey } : {}),
        },
        body: JSON.stringify({ from, to: [message.to], subject: message.subject, text: message.text }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) throw new Error(`Resend answered ${res.status}`);
    },
  };
}

/** Logs a send failure without the message (it holds a token) and with the address masked. */
export function logEmailFailure(message: EmailMessage, error: unknown, requestId?: string): void {
  log('warn', 'email not sent', {
    ...(requestId ? { request_id: requestId } : {}),
    kind: message.kind,
    to: maskEmail(message.to),
    error: describeError(error),
  });
}

export function maskEmail(email: string): string {
  const [local = '', domain = ''] = email.split('@');
  return `${local.slice(0, 1)}***@${domain}`;
}

import type { Deps } from '../ports.js';
import type { Case, Notice } from '../model.js';
import { NotFoundError } from '../errors.js';
import { listAll } from '../paging.js';

export async function mustGetNotice(deps: Deps, id: string): Promise<Notice> {
  const notice = await deps.store.getNotice(id);
  if (!notice) throw new NotFoundError('notice', id);
  return notice;
}

export function casesOf(deps: Deps, noticeId: string): Promise<Case[]> {
  return listAll((p) => deps.store.listCases({ noticeId }, p));
}

import type { Store } from '../ports.js';
import type { Campaign } from '../model.js';
import { NotFoundError } from '../errors.js';

export async function mustGetCampaign(store: Store, id: string): Promise<Campaign> {
  const campaign = await store.getCampaign(id);
  if (!campaign) throw new NotFoundError('campaign', id);
  return campaign;
}

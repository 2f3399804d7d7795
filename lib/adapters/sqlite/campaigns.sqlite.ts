import type Database from 'better-sqlite3';
import { AlreadyExistsError, StaleWriteError } from '../../core/errors.js';
import type { Campaign, CampaignIndicator } from '../../core/model.js';
import type { Store } from '../../core/ports.js';
import { decodeCursor, pageLimit, parseRow, parseRows, toPage, type DataRow, type KeyedRow } from './schema.js';

/** The Store methods for campaigns and their indicators. */
export type CampaignMethods = Pick<
  Store,
  'createCampaign' | 'getCampaign' | 'listCampaigns' | 'saveCampaign' | 'putIndicators' | 'listIndicators'
>;

/** Campaigns and their indicators in the `campaigns` and `indicators` tables. */
export function sqliteCampaigns(db: Database.Database): CampaignMethods {
  const stmt = {
    insertCampaign: db.prepare<[string, string, number, string]>(
      'INSERT OR IGNORE INTO campaigns (id, created_at, version, data) VALUES (?, ?, ?, ?)',
    ),
    getCampaign: db.prepare<[string], DataRow>('SELECT data FROM campaigns WHERE id = ?'),
    listCampaigns: db.prepare<[], DataRow>('SELECT data FROM campaigns ORDER BY created_at DESC, id DESC'),
    updateCampaign: db.prepare<[string, number, string, string, number]>(
      'UPDATE campaigns SET created_at = ?, version = ?, data = ? WHERE id = ? AND version = ?',
    ),

    insertIndicator: db.prepare<[string, number, string]>(
      'INSERT OR IGNORE INTO indicators (campaign_id, seq, data) VALUES (?, ?, ?)',
    ),
    listIndicators: db.prepare<[string, number, number], KeyedRow>(
      'SELECT seq AS key, data FROM indicators WHERE campaign_id = ? AND seq > ? ORDER BY seq LIMIT ?',
    ),
  };

  // one transaction per batch: 200,000 rows commit once instead of 200,000 times
  const insertIndicators = db.transaction((items: readonly CampaignIndicator[]) => {
    for (const item of items) stmt.insertIndicator.run(item.campaignId, item.seq, JSON.stringify(item));
  });

  return {
    async createCampaign(campaign) {
      const result = stmt.insertCampaign.run(
        campaign.id, campaign.createdAt, campaign.version, JSON.stringify(campaign),
      );
      if (result.changes === 0) throw new AlreadyExistsError('campaign', campaign.id);
    },

    async getCampaign(id) {
      return parseRow<Campaign>(stmt.getCampaign.get(id));
    },

    async listCampaigns() {
      return parseRows<Campaign>(stmt.listCampaigns.all());
    },

    async saveCampaign(campaign) {
      const result = stmt.updateCampaign.run(
        campaign.createdAt, campaign.version, JSON.stringify(campaign), campaign.id, campaign.version - 1,
      );
      if (result.changes === 0) throw new StaleWriteError('campaign', campaign.id);
    },

    async putIndicators(items) {
      insertIndicators(items);
    },

    async listIndicators(campaignId, page) {
      const limit = pageLimit(page);
      const after = page?.after === undefined ? -1 : decodeCursor(page.after, 'number');
      return toPage<CampaignIndicator>(stmt.listIndicators.all(campaignId, after, limit + 1), limit);
    },
  };
}

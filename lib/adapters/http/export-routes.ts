import type { Context } from 'hono';
import { InvalidInputError } from '../../core/errors.js';
import type { Deps } from '../../core/ports.js';
import { ExportFormat, campaignExport, exportFile, exportText } from '../../core/reports/index.js';

/**
 * A campaign's export as a download, for the API (`GET /campaigns/{id}/export?format=`) and the dashboard's
 * button alike: the same bytes either way. The workbook writer is loaded only when a workbook is asked for.
 */

/** The format of an export request, from `?format=` (csv when absent); InvalidInputError names the choices. */
export function exportFormatOf(c: Context): ExportFormat {
  const parsed = ExportFormat.safeParse(c.req.query('format') ?? 'csv');
  if (!parsed.success) throw new InvalidInputError('unknown export format', [{ where: 'format', reason: `one of ${ExportFormat.options.join(', ')}` }]);
  return parsed.data;
}

/** The export of a campaign as an attachment response. */
export async function exportResponse(c: Context, deps: Deps, campaignId: string, format: ExportFormat): Promise<Response> {
  const data = await campaignExport(deps, campaignId);
  const { filename, contentType } = exportFile(campaignId, format);
  const headers = {
    'Content-Type': contentType,
    'Content-Disposition': `attachment; filename="${filename}"`,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  };
  if (format === 'xlsx') {
    const { exportXlsx } = await import('../export/xlsx.js');
    const bytes = await exportXlsx(data);
    return c.body(new Uint8Array(bytes), 200, headers);
  }
  return c.body(exportText(data, format), 200, headers);
}

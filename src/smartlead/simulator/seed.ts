/**
 * Demo state for `npm run simulator`: three campaigns, eight mailboxes on three domains, a few leads.
 * Ids are fixed so a demo script can refer to them.
 */
import type { SimulatorState } from './state';

export function seedDemoState(state: SimulatorState): void {
  const outbound = state.addCampaign({ id: 1001, name: 'Founders — US — Q3', status: 'ACTIVE' });
  const agencies = state.addCampaign({ id: 1002, name: 'Agencies — EU', status: 'ACTIVE' });
  state.addCampaign({ id: 1003, name: 'Re-engagement (draft)', status: 'DRAFTED' });

  const mailboxes: [number, string, number[]][] = [
    [5001, 'alex@getdrason-mail.com', [outbound.id]],
    [5002, 'sam@getdrason-mail.com', [outbound.id]],
    [5003, 'jordan@getdrason-mail.com', [outbound.id, agencies.id]],
    [5004, 'taylor@trydrason.io', [outbound.id]],
    [5005, 'casey@trydrason.io', [agencies.id]],
    [5006, 'morgan@trydrason.io', [agencies.id]],
    [5007, 'riley@drason-outreach.net', [agencies.id]],
    [5008, 'quinn@drason-outreach.net', []],
  ];
  for (const [id, fromEmail, campaignIds] of mailboxes) state.addEmailAccount({ id, fromEmail, campaignIds });

  const leads = [
    { email: 'maria@techstartup.io', first_name: 'Maria', last_name: 'Garcia', company_name: 'TechStartup' },
    { email: 'alex.chen@acmecorp.com', first_name: 'Alex', last_name: 'Chen', company_name: 'Acme Corp' },
    { email: 'priya@northwind.example', first_name: 'Priya', last_name: 'Raman', company_name: 'Northwind' },
  ];
  for (const l of leads) state.enrollLead(outbound.id, state.upsertLead(l).id);
  state.blockList.add('competitor.example');
}

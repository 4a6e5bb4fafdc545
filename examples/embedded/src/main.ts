/**
 * Run the IVR story on a LevelDB directory (default ./data) and print the events and the
 * customer's journey:  node --conditions=source --import tsx src/main.ts [directory]
 */
import { openEngine, runCallFlow } from './flow.js';

const location = process.argv[2] ?? './data';
const cs = await openEngine(location, (line) => console.log(line));
try {
  await runCallFlow(cs, '+33123456789', 'customer-42');
  const journey = await cs.listCustomerServices('customer-42', {
    completed_states: true,
    completed_tasks: true,
    extensions: ['*'],
  });
  console.log(JSON.stringify(journey, null, 2));
} finally {
  await cs.close();
}

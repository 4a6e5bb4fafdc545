/**
 * Drive a running standalone server (started with config/tenants.json and config/users.json):
 *   node --import tsx src/main.ts [http://127.0.0.1:8080]
 * Prints one line per request, then the customer's journey; exits 1 if an answer is unexpected.
 */
import { drive } from './drive.js';

const origin = (process.argv[2] ?? process.env.CXS_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
try {
  const result = await drive(origin, (line) => console.log(line));
  console.log(
    `\nservice ${result.serviceId}: ${result.journey.length} service(s) for customer-7 in Paris, ${result.otherTenant.length} in Lyon`,
  );
  console.log(JSON.stringify(result.journey, null, 2));
} catch (error) {
  console.error(`drive failed: ${(error as Error).message}`);
  process.exitCode = 1;
}

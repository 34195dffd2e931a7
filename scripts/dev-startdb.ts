import { loadConfig } from '../src/config/env.js';
import { ensureDatabaseUrl } from '../src/database/database.js';

const url = await ensureDatabaseUrl(loadConfig());
console.log(url);

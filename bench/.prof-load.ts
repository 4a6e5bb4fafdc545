import { loadRound, startServiceRequests, conversationRequests, getServiceRequests } from './lib/http-load.js';
const [url, scenario, secs, pid] = process.argv.slice(2);
const requests = scenario === 'conv' ? conversationRequests() : startServiceRequests();
const r = await loadRound({ url, requests, connections: 32, seconds: Number(secs ?? 8), serverPid: pid ? Number(pid) : undefined });
console.log(JSON.stringify({ ...r, cpuUsPerReq: r.serverCpuSeconds ? (r.serverCpuSeconds * 1e6) / r.responses : undefined }));

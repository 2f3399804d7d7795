// The harness's Lambda runtime: one child process per function, as a Lambda container holds one function. It
// loads the function's bundle exactly as the Node.js runtime does (the `Handler` setting: file.export from
// LAMBDA_TASK_ROOT) and runs the invocations the harness sends it over IPC. Errors go back in Lambda's shape:
// errorType is the error's name, which is what a workflow's ErrorEquals matches.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

// The account's clock: tests move time forward (a deadline passes) by telling every function the same offset.
const RealDate = Date;
let offsetMs = 0;
class AccountDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + offsetMs);
    else super(...args);
  }
  static now() {
    return RealDate.now() + offsetMs;
  }
}
globalThis.Date = AccountDate;

let handler;
async function load() {
  if (handler) return handler;
  const [file, name] = process.env._HANDLER.split('.');
  const root = process.env.LAMBDA_TASK_ROOT;
  const path = ['.mjs', '.js', '.cjs'].map((ext) => join(root, `${file}${ext}`)).find((p) => existsSync(p));
  if (!path) throw Object.assign(new Error(`Cannot find module '${file}'`), { name: 'Runtime.ImportModuleError' });
  const mod = await import(pathToFileURL(path).href);
  const fn = mod[name];
  if (typeof fn !== 'function') throw Object.assign(new Error(`${file}.${name} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
  handler = fn;
  return handler;
}

function errorShape(error) {
  const e = error instanceof Error ? error : new Error(String(error));
  return { errorType: e.name || 'Error', errorMessage: e.message, trace: (e.stack ?? '').split('\n') };
}

process.on('message', async (message) => {
  if (message.type === 'clock') {
    offsetMs = message.offsetMs;
    process.send({ type: 'clock', id: message.id });
    return;
  }
  if (message.type !== 'invoke') return;
  const { id, event, deadline, requestId } = message;
  const context = {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: message.functionArn,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - RealDate.now()),
  };
  // Lambda sets the invocation's trace header (tracing Active): unsampled here, so no segment is sent anywhere
  process.env._X_AMZN_TRACE_ID = `Root=1-${Math.floor(RealDate.now() / 1000).toString(16)}-${requestId.replace(/-/g, '').slice(0, 24)};Parent=${requestId.replace(/-/g, '').slice(0, 16)};Sampled=0`;
  try {
    const fn = await load();
    const value = await fn(event, context);
    process.send({ type: 'result', id, value: value === undefined ? null : value });
  } catch (error) {
    process.send({ type: 'result', id, error: errorShape(error) });
  }
});

process.send({ type: 'ready' });

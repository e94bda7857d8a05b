// Writes the stack's groups into rest-server's group Secrets before rest-server starts (the
// group-sync init container of the rest-server pod, on rest-server's own image: Node 10, no
// modules needed). rest-server creates a group of group.yaml only when it does not exist yet
// (src/rest-server/src/models/v2/group.js createGroupIfNonExistent), so without this a storage
// granted or a VC given to an existing group would never reach a running cluster.
//
// A group is the Secret <hex of its name> in pai-group with base64 fields groupname, description,
// externalName and extension (JSON), as src/rest-server/src/utils/manager/group/crudK8sSecret.js
// writes it. The stack's groups (stack: true) get their description and acls from the stack;
// OpenPAI's own groups (admingroup, default) only their storageConfigs. Other extension fields and
// the groups the stack does not name are left as they are. Prints what it changed.
'use strict';

const fs = require('fs');
const https = require('https');

// The pod's service account (rest-server's: it may read and write the group Secrets); elsewhere for tests.
const serviceAccount = process.env.SERVICE_ACCOUNT_DIR || '/var/run/secrets/kubernetes.io/serviceaccount';
const namespace = process.env.PAI_GROUP_NAMESPACE || 'pai-group';

function request(method, path, body) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const options = {
    method,
    host: process.env.KUBERNETES_SERVICE_HOST,
    port: process.env.KUBERNETES_SERVICE_PORT,
    path,
    ca: fs.readFileSync(`${serviceAccount}/ca.crt`),
    headers: {
      Authorization: `Bearer ${fs.readFileSync(`${serviceAccount}/token`, 'utf8').trim()}`,
      Accept: 'application/json',
      'Content-Type': 'application/json',
    },
    timeout: 30000,
  };
  return new Promise((resolve, reject) => {
    const req = https.request(options, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try {
          json = JSON.parse(text);
        } catch (error) {
          json = { message: text };
        }
        resolve({ status: res.statusCode, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

const encode = (text) => Buffer.from(text, 'utf8').toString('base64');
const decode = (text) => Buffer.from(text || '', 'base64').toString('utf8');

function secretOf(group) {
  return {
    metadata: { name: Buffer.from(group.groupname).toString('hex') },
    data: {
      groupname: encode(group.groupname),
      description: encode(group.description),
      externalName: encode(group.externalName),
      extension: encode(JSON.stringify(group.extension)),
    },
  };
}

// The group as it should be, from the one rest-server keeps.
function merged(current, wanted) {
  const extension = Object.assign({}, current.extension);
  const acls = Object.assign({}, extension.acls, { storageConfigs: wanted.extension.acls.storageConfigs });
  if (wanted.stack) {
    acls.admin = wanted.extension.acls.admin;
    acls.virtualClusters = wanted.extension.acls.virtualClusters;
  }
  extension.acls = acls;
  return {
    groupname: current.groupname,
    description: wanted.stack ? wanted.description : current.description,
    externalName: current.externalName,
    extension,
  };
}

async function sync(wanted) {
  const path = `/api/v1/namespaces/${namespace}/secrets/${Buffer.from(wanted.groupname).toString('hex')}`;
  const got = await request('GET', path);
  if (got.status === 404) {
    const group = { groupname: wanted.groupname, description: wanted.description, externalName: wanted.externalName, extension: wanted.extension };
    const created = await request('POST', `/api/v1/namespaces/${namespace}/secrets`, secretOf(group));
    if (created.status !== 201) {
      throw new Error(`creating group ${wanted.groupname}: ${created.status} ${created.json.message}`);
    }
    console.log(`group-sync: changed: created group ${wanted.groupname} (storages: ${wanted.extension.acls.storageConfigs.join(', ') || 'none'})`);
    return;
  }
  if (got.status !== 200) {
    throw new Error(`reading group ${wanted.groupname}: ${got.status} ${got.json.message}`);
  }
  const data = got.json.data || {};
  let extension = {};
  try {
    extension = JSON.parse(decode(data.extension) || '{}');
  } catch (error) {
    console.log(`group-sync: group ${wanted.groupname} had an unreadable extension; it is written anew`);
  }
  const current = { groupname: decode(data.groupname), description: decode(data.description), externalName: decode(data.externalName), extension };
  const group = merged(current, wanted);
  if (JSON.stringify(group) === JSON.stringify(current)) {
    return;
  }
  const secret = secretOf(group);
  secret.metadata.resourceVersion = got.json.metadata.resourceVersion;
  const updated = await request('PUT', path, secret);
  if (updated.status !== 200) {
    throw new Error(`updating group ${wanted.groupname}: ${updated.status} ${updated.json.message}`);
  }
  console.log(`group-sync: changed: group ${wanted.groupname}: storages ${group.extension.acls.storageConfigs.join(', ') || 'none'}` +
    (wanted.stack ? `, VCs ${group.extension.acls.virtualClusters.join(', ') || 'none'}, admin ${group.extension.acls.admin}` : ''));
}

async function main() {
  const groups = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  for (const group of groups) {
    await sync(group);
  }
  console.log(`group-sync: ${groups.length} groups in step with the stack`);
}

main().catch((error) => {
  console.error(`group-sync: ${error.message}`);
  process.exit(1);
});

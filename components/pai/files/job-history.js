// Writes job and task attempt history (the tables framework_history and task_history), which
// rest-server reads for a job's retries (src/rest-server/src/models/v2/job-attempt.js, task.js).
// In OpenPAI v1.8 fluentd wrote them from FrameworkController's log (src/fluentd: the
// OnFrameworkRetry and OnTaskRetry object snapshots). Here a container of the database-controller
// pod, on database-controller's image and with its own modules (Node 8), follows the Frameworks as
// its framework watcher does: a Framework whose attempt completed is remembered, and when the
// Framework shows a newer attempt, the completed one is history. Tasks retried inside an attempt
// (taskRetryCount) are kept the same way by their instance UID. Rows are keyed as fluentd keyed them
// (md5 of name + attempt + "retry"), so each is written once.
'use strict';

const crypto = require('crypto');

const root = process.env.DATABASE_CONTROLLER_DIR || '/database-controller/src';
require(`${root}/node_modules/module-alias`).addAlias('@dbc', root);
require('@dbc/common/init');
const logger = require('@dbc/common/logger');
const { getFrameworkInformer } = require('@dbc/common/k8s');
const { Snapshot } = require('@dbc/common/framework');
const DatabaseModel = require(`${root}/node_modules/openpaidbsdk`);

const database = new DatabaseModel(process.env.DB_CONNECTION_STR, parseInt(process.env.MAX_DB_CONNECTION || '5', 10));
const md5 = (text) => crypto.createHash('md5').update(text).digest('hex');

// Completed attempts not yet known to be retried: framework name -> snapshot, task UID -> task.
const completedFrameworks = new Map();
const completedTasks = new Map();

async function saveFrameworkAttempt(snapshot) {
  const framework = snapshot.getSnapshot();
  const attempt = framework.status.attemptStatus.id;
  // rest-server renders a history row by its Framework state (convertToJobAttempt's convertState,
  // src/rest-server/src/models/v2/utils/frameworkConverter.js), which reads AttemptCompleted, the
  // state FrameworkController snapshots a retry in, as RUNNING. The attempt is over: it is kept as
  // Completed, which reads as its exit code says (FAILED, STOPPED or SUCCEEDED).
  framework.status.state = 'Completed';
  const [, created] = await database.FrameworkHistory.findOrCreate({
    where: { uid: md5(`${framework.metadata.name}+${attempt}+retry`) },
    defaults: { frameworkName: framework.metadata.name, attemptIndex: attempt, historyType: 'retry', snapshot: JSON.stringify(framework) },
  });
  if (created) {
    logger.info(`job-history: framework ${framework.metadata.name} attempt ${attempt} recorded`);
  }
}

async function saveTaskAttempt(framework, taskRole, task) {
  const annotations = {
    FC_FRAMEWORK_NAME: framework.metadata.name,
    FC_FRAMEWORK_ATTEMPT_ID: String(framework.status.attemptStatus.id),
    FC_TASKROLE_NAME: taskRole,
    FC_TASK_INDEX: String(task.index),
  };
  // The shape of FrameworkController's Task snapshot (pkg/apis/frameworkcontroller/v1/funcs.go).
  const taskSnapshot = { kind: 'Task', metadata: { name: task.name, uid: task.instanceUID, annotations }, status: task };
  const [, created] = await database.TaskHistory.findOrCreate({
    where: { uid: md5(`${task.instanceUID}+${task.attemptStatus.id}+retry`) },
    defaults: {
      frameworkName: framework.metadata.name,
      attemptIndex: framework.status.attemptStatus.id,
      taskroleName: taskRole,
      taskName: task.name,
      taskIndex: task.index,
      taskUid: task.instanceUID,
      taskAttemptIndex: task.attemptStatus.id,
      podUid: task.attemptStatus.podUID,
      historyType: 'retry',
      snapshot: JSON.stringify(taskSnapshot),
    },
  });
  if (created) {
    logger.info(`job-history: task ${task.name} attempt ${task.attemptStatus.id} recorded`);
  }
}

async function onFramework(apiObject) {
  const snapshot = new Snapshot(apiObject);
  snapshot.unzipTaskRoleStatuses();
  const framework = snapshot.getSnapshot();
  const name = framework.metadata.name;
  const status = framework.status;
  if (!status || !status.attemptStatus) {
    return;
  }
  const earlier = completedFrameworks.get(name);
  if (earlier && earlier.getSnapshot().status.attemptStatus.id < status.attemptStatus.id) {
    await saveFrameworkAttempt(earlier);
    completedFrameworks.delete(name);
  }
  if (status.state === 'AttemptCompleted') {
    completedFrameworks.set(name, snapshot);
  } else if (status.state === 'Completed') {
    completedFrameworks.delete(name);
  }
  for (const taskRole of status.attemptStatus.taskRoleStatuses || []) {
    for (const task of taskRole.taskStatuses || []) {
      const completed = completedTasks.get(task.instanceUID);
      if (completed && completed.task.attemptStatus.id < task.attemptStatus.id) {
        await saveTaskAttempt(completed.framework, taskRole.name, completed.task);
        completedTasks.delete(task.instanceUID);
      }
      if (task.state === 'TaskAttemptCompleted') {
        completedTasks.set(task.instanceUID, { framework, task });
      } else if (task.state === 'TaskCompleted') {
        completedTasks.delete(task.instanceUID);
      }
    }
  }
}

function onDeleted(apiObject) {
  completedFrameworks.delete(apiObject.metadata.name);
  for (const [uid, completed] of completedTasks) {
    if (completed.framework.metadata.name === apiObject.metadata.name) {
      completedTasks.delete(uid);
    }
  }
}

// One Framework at a time, in the order of the events.
let queue = Promise.resolve();
function handle(what, apiObject) {
  queue = queue.then(() => what(apiObject)).catch((error) => {
    logger.error(`job-history: ${apiObject.metadata.name}: ${error.message}`, () => process.exit(1));
  });
}

const informer = getFrameworkInformer(parseInt(process.env.WATCH_TIMEOUT_SECONDS || '86400', 10));
informer.on('add', (apiObject) => handle(onFramework, apiObject));
informer.on('update', (apiObject) => handle(onFramework, apiObject));
informer.on('delete', (apiObject) => handle(onDeleted, apiObject));
informer.on('error', (error) => {
  // As database-controller's watchers do: exit, and let Kubernetes restart the container.
  logger.error(`job-history: watching Frameworks failed: ${error}`, () => process.exit(1));
});
informer.start();
logger.info('job-history: following Frameworks');

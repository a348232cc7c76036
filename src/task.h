/* task.h — tasks (one coroutine each) and the bridge primitives use; the
 * bridge itself is public (include/tocsin/primitive.h), the scheduler's
 * internals are in run.h. */
#ifndef TOCSIN_TASK_H
#define TOCSIN_TASK_H

#include <tocsin/primitive.h>

#endif

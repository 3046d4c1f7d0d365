# Drives `mgraph eval --data` over runs of one data directory (tests/node/CMakeLists.txt).
#   MODE=reopen:   runs first/second/third.mgscript on a fresh DIR with orders.mgs; each
#                  run's stdout must equal X.expected, so later runs see earlier commits.
#   MODE=mismatch: after run 1, other.mgs on the same DIR must exit 2 with a message
#                  naming DIR, the epoch and both schemas; then orders.mgs still works.
#   MODE=checkpoint: as reopen, but a checkpoint after every epoch and the log compacted
#                  behind it, so each reopen must load the checkpoint (the log alone no
#                  longer holds the records); then a `checkpoint` command, and a reopen
#                  that undoes past it.
# Inputs: MGRAPH (the binary), SRC (this directory), DIR (scratch data directory).
file(REMOVE_RECURSE ${DIR})

function(run_eval schema script expected)
  execute_process(COMMAND ${MGRAPH} eval ${SRC}/${schema} --data ${DIR}
                          --script ${SRC}/${script} ${ARGN}
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${script}: exit code ${rc}, expected 0\nstderr:\n${err}")
  endif()
  file(READ ${SRC}/${expected} want)
  if(NOT out STREQUAL want)
    message(FATAL_ERROR "${script}: output differs from ${expected}\n--- got ---\n${out}"
                        "--- expected ---\n${want}")
  endif()
endfunction()

if(MODE STREQUAL "reopen")
  run_eval(orders.mgs first.mgscript first.expected)
  run_eval(orders.mgs second.mgscript second.expected)
  run_eval(orders.mgs third.mgscript third.expected)
elseif(MODE STREQUAL "checkpoint")
  run_eval(orders.mgs first.mgscript first.expected --checkpoint-every 1 --compact-log)
  run_eval(orders.mgs second.mgscript second.expected --checkpoint-every 1 --compact-log)
  run_eval(orders.mgs third.mgscript third.expected --checkpoint-every 1 --compact-log)
  run_eval(orders.mgs fourth.mgscript fourth.expected --checkpoint-every 0 --compact-log)
  run_eval(orders.mgs fifth.mgscript fifth.expected --checkpoint-every 0)
elseif(MODE STREQUAL "mismatch")
  run_eval(orders.mgs first.mgscript first.expected)
  execute_process(COMMAND ${MGRAPH} eval ${SRC}/other.mgs --data ${DIR}
                          --script ${SRC}/second.mgscript
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "other.mgs: exit code ${rc}, expected 2\nstderr:\n${err}")
  endif()
  if(NOT out STREQUAL "")
    message(FATAL_ERROR "other.mgs: printed output although refused:\n${out}")
  endif()
  foreach(part "${DIR}: epoch 1: written for another schema" "orders.mgs" "other.mgs")
    string(FIND "${err}" "${part}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "other.mgs: stderr lacks '${part}':\n${err}")
    endif()
  endforeach()
  # The refusal changed nothing: the right schema reopens the directory as before.
  run_eval(orders.mgs second.mgscript second.expected)
else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()
file(REMOVE_RECURSE ${DIR})

# trafficctl as an operator uses it: each step checks the exit code and the output.
# Inputs: TRAFFICCTL, DATA, WORK.
set(ENV{ENCRIPTION_KEY} "0123456789abcdef0123456789abcdef")
unset(ENV{LINK_KEYS_V2})

function(run expected_code expected_output)
  execute_process(COMMAND ${TRAFFICCTL} ${ARGN} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT code EQUAL expected_code)
    message(FATAL_ERROR "trafficctl ${ARGN}: exit ${code}, expected ${expected_code}\n${out}${err}")
  endif()
  if(NOT "${out}${err}" MATCHES "${expected_output}")
    message(FATAL_ERROR "trafficctl ${ARGN}: output does not match '${expected_output}':\n${out}${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

run(0 "\"offerId\":100,\"campaignId\":10,\"version\":1" decode 25303b46515c67727d88939ea9b4bfca:20c27dee4517a1e52468c3abad2a5f08)
run(1 "invalid link" decode 37424d58636e79848f9aa5b0bbc6d1dc:863a930e5d87b23d0)
run(0 "^[0-9a-f]+:[0-9a-f]+\n$" encode --offer 36303 --campaign 1000976)
string(STRIP "${last_output}" v1_link)
run(0 "\"offerId\":36303,\"campaignId\":1000976,\"version\":1" decode ${v1_link})
run(0 "^v2\\.[A-Za-z0-9_-]+\n$" encode --offer 5 --campaign 6 --v2)
string(STRIP "${last_output}" v2_link)
run(0 "\"offerId\":5,\"campaignId\":6,\"version\":2" decode ${v2_link})
run(1 "invalid link" decode --refuse-v1 ${v1_link})
run(2 "ENCRIPTION_KEY must be 32 bytes" encode --offer 1 --campaign 1 --key short)
run(2 "" encode --offer 0 --campaign 1)
run(2 "" no-such-verb)

run(0 "offers: 22 records.*campaigns: 20 records.*1 dangling" recipe validate
    ${DATA}/recipes/offersRecipe.json.gz ${DATA}/recipes/campaignsRecipe.json.gz)
run(1 "1 dangling" recipe validate --strict
    ${DATA}/recipes/offersRecipe.json.gz ${DATA}/recipes/campaignsRecipe.json.gz)

file(MAKE_DIRECTORY ${WORK})
file(WRITE ${WORK}/broken.json "[{\"offerId\":1},")
run(1 "refused: invalid JSON" recipe validate ${WORK}/broken.json ${DATA}/recipes/campaignsRecipe.json.gz)
file(WRITE ${WORK}/problems.json "[{\"offerId\":1,\"payin\":\"abc\"},{\"name\":\"no id\"}]")
run(0 "offers: 1 records.*offer 1 payin: not a decimal amount" recipe validate ${WORK}/problems.json
    ${DATA}/recipes/campaignsRecipe.json.gz)

run(0 "200 offers.*2000 campaigns" recipe gen --offers 200 --campaigns 2000 --seed 7 --out ${WORK}/gen)
file(SHA256 ${WORK}/gen/offersRecipe.json.gz first_hash)
run(0 "offers: 200 records.*campaigns: 2000 records" recipe validate
    ${WORK}/gen/offersRecipe.json.gz ${WORK}/gen/campaignsRecipe.json.gz)
run(0 "200 offers" recipe gen --offers 200 --campaigns 2000 --seed 7 --out ${WORK}/gen)
file(SHA256 ${WORK}/gen/offersRecipe.json.gz second_hash)
if(NOT first_hash STREQUAL second_hash)
  message(FATAL_ERROR "recipe gen is not deterministic for a fixed seed")
endif()

# explain: the real geo and device lookups, the decision, its trace and the URL.
# (The user agent has no ";": CMake would split the argument there.)
set(recipe --offers ${DATA}/recipes/offersRecipe.json.gz --campaigns ${DATA}/recipes/campaignsRecipe.json.gz)
set(geo --city-db ${DATA}/geoip/test-data/GeoIP2-City-Test.mmdb --isp-db ${DATA}/geoip/test-data/GeoIP2-ISP-Test.mmdb)
run(0 "country=US region=WA city=Milton isp=Century Link device=smartphone os=iOS.*offer_id +101.*redirect_type +offerGeoRestriction.*redirect_url +http://exit.example.com/landing\\?offer_id=101&campaign_id=12&lid=[-0-9a-f]+&ap=2&src=7&hash=[0-9a-f]+.*geo: offer 110: visitor's country is on the block-list"
    explain ${recipe} ${geo} --url-hash-secret urlsecret
    --link 949faab5c0cbd6e1ecf7020d18232e39:f0acb4dae0426fd4ad0ee2c8c7157bf9 --ip 216.160.83.56
    --ua "Mozilla/5.0 (iPhone CPU iPhone OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.0 Mobile/15E148 Safari/604.1")
run(0 "\"offer_id\":110.*\"redirect_type\":\"defaultRedirection\"" explain ${recipe} --offer 110 --campaign 12 --country SE --json)
# The date window is evaluated at --at.
run(0 "redirect_type +defaultRedirection" explain ${recipe} --offer 112 --campaign 15 --at 2020-06-01T00:00:00Z)
run(0 "redirect_type +OfferStartEndDataRangeNotPass.*offer_id +36303|offer_id +36303.*OfferStartEndDataRangeNotPass"
    explain ${recipe} --offer 112 --campaign 15 --at 2021-01-01T00:00:00Z)
run(1 "outcome +blocked.*block_reason +affiliate_blacklisted" explain ${recipe} --offer 100 --campaign 30)
run(1 "invalid link" explain ${recipe} --link 00:00)
run(2 "--at: not an ISO-8601 time" explain ${recipe} --offer 100 --campaign 10 --at yesterday)
